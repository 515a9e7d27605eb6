-- QPV contours for the maps and the GeoPackage of the publication (read by the publication step).
with

qpv as (
    select * from {{ ref('stg_geo__qpv') }}
),

final as (
    select annee, code_qpv, nom, code_insee, fictif, geometry_wkb from qpv
)

select * from final
