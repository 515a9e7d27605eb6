-- Saisie ind_27 (kept by hand): meetings held during the year, by instance.
with

source as (
    select * from {{ source_or_empty('raw', 'saisie_ind_27') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "INSTANCE"                                        as instance,
        cast("NB_REUNIONS" as integer)                    as nb_reunions,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
