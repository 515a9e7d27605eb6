{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic "Parc" (indicators.md, section C): dwellings by commune and millésime, with the QPV
-- share. Every commune of the EPCI on 1 January of the year has a row, with 0 where it has none.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

communes as (
    select * from {{ ref('ref_communes') }}
),

annees as (
    select distinct annee from logements
),

communes_de_l_annee as (
    select annees.annee, communes.code_insee, communes.nom, communes.sru
    from annees
    join communes
        on communes.date_debut <= make_date(annees.annee, 1, 1)
        and (communes.date_fin is null or communes.date_fin >= make_date(annees.annee, 1, 1))
),

comptes as (
    select
        annee,
        code_insee,
        count(*)                               as logements,
        count(*) filter (where est_qpv)        as logements_qpv
    from logements
    group by annee, code_insee
),

final as (
    select
        communes_de_l_annee.annee,
        communes_de_l_annee.code_insee                             as commune,
        communes_de_l_annee.nom                                    as libelle_commune,
        communes_de_l_annee.sru,
        coalesce(comptes.logements, 0)                             as logements,
        coalesce(comptes.logements_qpv, 0)                         as logements_qpv,
        case when comptes.logements > 0
            then comptes.logements_qpv / comptes.logements end     as part_qpv,
        'RPLS ' || communes_de_l_annee.annee                       as source
    from communes_de_l_annee
    left join comptes
        on comptes.annee = communes_de_l_annee.annee
        and comptes.code_insee = communes_de_l_annee.code_insee
)

select * from final
