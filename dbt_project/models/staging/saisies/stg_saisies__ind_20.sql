-- Saisie ind_20 (kept by hand): accession sociale dwellings sold in the year, buyers, and buyers coming from the parc
-- social; one row per year.
with

source as (
    select * from {{ source_or_empty('raw', 'saisie_ind_20') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        cast("LOGEMENTS_COMMERCIALISES" as integer)       as logements_commercialises,
        cast("ACCEDANTS" as integer)                      as accedants,
        cast("ACCEDANTS_ISSUS_PARC_SOCIAL" as integer)    as accedants_issus_parc_social,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
