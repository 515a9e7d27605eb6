-- Active demands at the end of each month (monthly snapshots of the fichier partagé / SNE), one row
-- per demand and month: contract columns renamed to the model's words and cast.
with

source as (
    select * from {{ source_or_empty('raw', 'demandes') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        cast("MOIS" as integer)                           as mois,
        -- pseudonymised at ingestion (keyed hash of the numéro unique)
        "NUM_UNIQUE"                                      as num_unique,
        "DATE_DEPOT"                                      as date_depot,
        "DATE_RENOUVELLEMENT"                             as date_renouvellement,
        "TYPE_DEMANDE"                                    as type_demande,
        "BAILLEUR_ACTUEL"                                 as bailleur_actuel,
        "COMMUNE_RESIDENCE"                               as commune_residence,
        cast("NB_PERSONNES" as integer)                   as nb_personnes,
        cast("NB_ENFANTS_MOINS_14" as integer)            as nb_enfants_moins_14,
        cast("AGE_DEMANDEUR" as integer)                  as age_demandeur,
        "COMPOSITION"                                     as composition,
        "SITUATION_PRO"                                   as situation_pro,
        cast("REVENU_MENSUEL" as decimal(12, 2))          as revenu_mensuel,
        "TYPOLOGIE_SOUHAITEE"                             as typologie_souhaitee,
        "COMMUNE_SOUHAITEE_1"                             as commune_souhaitee_1,
        "COMMUNE_SOUHAITEE_2"                             as commune_souhaitee_2,
        "COMMUNE_SOUHAITEE_3"                             as commune_souhaitee_3,
        "MOTIF_PRINCIPAL"                                 as motif_principal,
        "LOGEMENT_ACTUEL"                                 as logement_actuel,
        cast("NB_PIECES_ACTUEL" as integer)               as nb_pieces_actuel,
        "HANDICAP"                                        as handicap,
        "DALO"                                            as dalo,
        "PRIORITAIRE"                                     as prioritaire,
        "PORTEUR_MIXITE"                                  as porteur_mixite,
        "COTATION"                                        as cotation,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
-- a monthly dashboard run stops at its month (macros/annee_filter.sql)
{{ mois_filter() }}
