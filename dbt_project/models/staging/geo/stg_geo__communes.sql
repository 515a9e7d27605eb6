-- Commune contours per millésime, as ingested (Lambert-93 WKB, current COG).
with

source as (
    select * from {{ source_or_empty('raw', 'geo_communes') }}
),

final as (
    select
        cast("ANNEE" as integer) as annee,
        "CODE_INSEE"             as code_insee,
        "NOM"                    as nom,
        "FICTIF"                 as fictif,
        "GEOMETRY_WKB"           as geometry_wkb
    from source
)

select * from final
