-- The bailleurs' résidences (action 5.10 of the CIA): one row per résidence and year (annee).
-- RPLS dwellings point to them through residence_id.
with

source as (
    select * from {{ source_or_empty('raw', 'residences') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "RESIDENCE_ID"                                    as residence_id,
        "BAILLEUR"                                        as bailleur,
        "NOM"                                             as nom,
        "COMMUNE"                                         as code_insee,
        -- empty = hors QPV
        nullif(trim("QPV"), '')                           as code_qpv,
        cast("NB_LOGEMENTS" as integer)                   as nb_logements,
        -- dwellings for specific publics
        cast("NB_LOGEMENTS_ADAPTES" as integer)           as nb_logements_adaptes,
        "LABEL_BAS_LOYER"                                 as label_bas_loyer,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
