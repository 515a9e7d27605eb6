-- Commune contours for the maps of the atlas (the reports read marts only).
with

communes as (
    select * from {{ ref('stg_geo__communes') }}
),

final as (
    select annee, code_insee, nom, fictif, geometry_wkb from communes
)

select * from final
