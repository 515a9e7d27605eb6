-- Households labelled prioritaires (SYPLO), one row per household and extract (annee): contract
-- columns renamed to the model's words.
with

source as (
    select * from {{ source_or_empty('raw', 'syplo') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        -- pseudonymised at ingestion (keyed hash of the numéro unique)
        "NUM_UNIQUE"                                      as num_unique,
        "DATE_LABELLISATION"                              as date_labellisation,
        "MOTIF_PRIORITE"                                  as motif_priorite,
        "STATUT"                                          as statut,
        "DATE_STATUT"                                     as date_statut,
        "BAILLEUR_RELOGEMENT"                             as bailleur_relogement,
        "RESERVATAIRE_RELOGEMENT"                         as reservataire_relogement,
        "SORTANT_HEBERGEMENT"                             as sortant_hebergement,
        "ACCOMPAGNEMENT"                                  as accompagnement,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
