-- IRIS contours for the maps and the GeoPackage of the publication (the reports read no mart: the
-- publication step reads this one and writes the layers it gives readers).
with

iris as (
    select * from {{ ref('stg_geo__iris') }}
),

final as (
    select annee, iris, nom, code_insee, fictif, geometry_wkb from iris
)

select * from final
