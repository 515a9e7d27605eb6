-- SISAL agréments of the year: one row per commune × bailleur × produit (× QPV), dwellings agreed.
with

source as (
    select * from {{ source_or_empty('raw', 'sisal') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "COMMUNE"                                         as code_insee,
        "BAILLEUR"                                        as bailleur,
        "PRODUIT"                                         as produit,
        cast("NB_LOGEMENTS" as integer)                   as nb_logements,
        "QPV"                                             as est_qpv,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
