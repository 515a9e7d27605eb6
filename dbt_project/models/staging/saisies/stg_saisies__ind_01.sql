-- Saisie ind_01 (kept by hand): progress of the NPNRU projects on 31 December, one row per project
-- and year; figures cumulated since the start of the project.
with

source as (
    select * from {{ source_or_empty('raw', 'saisie_ind_01') }}
),

final as (
    select
        cast("ANNEE" as integer)                          as annee,
        "PROJET"                                          as projet,
        nullif(trim("QPV"), '')                           as code_qpv,
        "ETAPE"                                           as etape,
        cast("LOGEMENTS_DEMOLIS" as integer)              as logements_demolis,
        cast("LOGEMENTS_RECONSTRUITS" as integer)         as logements_reconstruits,
        cast("LOGEMENTS_REHABILITES" as integer)          as logements_rehabilites,
        cast("MENAGES_RELOGES" as integer)                as menages_reloges,
        "_FICHIER"                                        as fichier_extrait,
        cast("_LIGNE" as integer)                         as ligne_extrait
    from source
)

select * from final
