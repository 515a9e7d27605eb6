-- CALEOL examinations, one row per candidate examined for a dwelling in a CALEOL (monthly extracts of
-- the fichier partagé / SNE): contract columns renamed to the model's words and cast. The rules that
-- decide what an examination counts for (attribution prononcée, quartile, QPV…) are applied once, in
-- int_attributions_qualifiees.
with

source as (
    select * from {{ source_or_empty('raw', 'attributions') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        cast("MOIS" as integer)                           as mois,
        -- pseudonymised at ingestion (keyed hash of the numéro unique)
        "NUM_UNIQUE"                                      as num_unique,
        "DATE_DEPOT"                                      as date_depot,
        "DATE_CAL"                                        as date_cal,
        "LOGEMENT_ID"                                     as logement_id,
        "BAILLEUR"                                        as bailleur,
        "RESERVATAIRE"                                    as reservataire,
        "COMMUNE_LOGEMENT"                                as code_insee,
        -- empty = hors QPV
        nullif(trim("QPV_LOGEMENT"), '')                  as code_qpv,
        "RESIDENCE_ID"                                    as residence_id,
        "TYPOLOGIE_LOGEMENT"                              as typologie,
        "DECISION_CAL"                                    as decision,
        cast("RANG" as integer)                           as rang,
        -- empty = no answer recorded
        "REPONSE_DEMANDEUR"                               as reponse,
        "MOTIF_REFUS"                                     as motif_refus,
        "DATE_BAIL"                                       as date_bail,
        "MUTATION"                                        as mutation,
        "BAILLEUR_ORIGINE"                                as bailleur_origine,
        "RELOGEMENT_ANRU"                                 as relogement_anru,
        "RELOGEMENT_COPRO_DEGRADEE"                       as relogement_copro_degradee,
        "HORS_FLUX"                                       as hors_flux,
        cast("NB_PERSONNES" as integer)                   as nb_personnes,
        cast("NB_ENFANTS_MOINS_14" as integer)            as nb_enfants_moins_14,
        -- euros and cents: exact decimals for the quartile comparison
        cast("REVENU_MENSUEL" as decimal(12, 2))          as revenu_mensuel,
        cast("AGE_DEMANDEUR" as integer)                  as age_demandeur,
        "COMPOSITION"                                     as composition,
        "SITUATION_PRO"                                   as situation_pro,
        "PRIORITAIRE"                                     as prioritaire,
        "DALO"                                            as dalo,
        "MOTIF_PRIORITE"                                  as motif_priorite,
        "SORTANT_HEBERGEMENT"                             as sortant_hebergement,
        "PORTEUR_MIXITE"                                  as porteur_mixite,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
-- a monthly dashboard run stops at its month (macros/annee_filter.sql)
{{ mois_filter() }}
