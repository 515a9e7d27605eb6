-- QPV contours per millésime, as ingested (Lambert-93 WKB; geometry is handled in Python, the DuckDB
-- spatial extension is not available offline).
with

source as (
    select * from {{ source_or_empty('raw', 'geo_qpv') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "CODE_QPV"                                        as code_qpv,
        "NOM"                                             as nom,
        "INSEE_COM"                                       as code_insee,
        "FICTIF"                                          as fictif,
        "GEOMETRY_WKB"                                    as geometry_wkb
    from source
)

select * from final
