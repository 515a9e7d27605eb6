-- Saisie ind_21 (kept by hand): dwellings in intermédiation locative on 31 December, by dispositif.
with

source as (
    select * from {{ source_or_empty('raw', 'saisie_ind_21') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "DISPOSITIF"                                      as dispositif,
        cast("LOGEMENTS" as integer)                      as logements,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
