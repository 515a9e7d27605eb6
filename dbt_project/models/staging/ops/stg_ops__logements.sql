-- Enquête Occupation du parc social: one row per occupied dwelling surveyed and survey year (annee,
-- situation on 1 January); the household columns are empty for non-respondents.
with

source as (
    select * from {{ source_or_empty('raw', 'ops') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "BAILLEUR"                                        as bailleur,
        "LOGEMENT_ID"                                     as logement_id,
        "RESIDENCE_ID"                                    as residence_id,
        "COMMUNE"                                         as code_insee,
        "IRIS"                                            as iris,
        -- empty = hors QPV
        nullif(trim("QPV"), '')                           as code_qpv,
        "REPONDANT"                                       as repondant,
        cast("NB_OCCUPANTS" as integer)                   as nb_occupants,
        cast("NB_MAJEURS" as integer)                     as nb_majeurs,
        cast("NB_MAJEURS_CHOMAGE" as integer)             as nb_majeurs_chomage,
        cast("NB_MINEURS" as integer)                     as nb_mineurs,
        cast("AGE_TITULAIRE" as integer)                  as age_titulaire,
        "COMPOSITION"                                     as composition,
        -- household resources as a percentage of the PLUS ceiling of its category
        "RESSOURCES_PCT_PLUS"                             as ressources_pct_plus,
        "EMMENAGE_RECENT"                                 as emmenage_recent,
        "APL"                                             as apl,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
