-- Enquête supplément de loyer de solidarité: one row per bailleur × résidence and year (annee).
with

source as (
    select * from {{ source_or_empty('raw', 'sls') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "BAILLEUR"                                        as bailleur,
        "RESIDENCE_ID"                                    as residence_id,
        "COMMUNE"                                         as code_insee,
        -- empty = hors QPV
        nullif(trim("QPV"), '')                           as code_qpv,
        cast("NB_LOGEMENTS_ENQUETES" as integer)          as nb_logements_enquetes,
        cast("NB_REPONDANTS" as integer)                  as nb_repondants,
        -- households above the resource ceiling; above 120 % of it (a subset)
        cast("NB_DEPASSEMENT" as integer)                 as nb_depassement,
        cast("NB_DEPASSEMENT_20" as integer)              as nb_depassement_20,
        cast("NB_SLS_APPLIQUE" as integer)                as nb_sls_applique,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
