{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- OBJ_Q1_HORS_QPV (indicators.md, section A): 25 % of the attributions hors QPV go to 1st-quartile
-- households or to households relogés ANRU (whatever their income). Base: baux signés (attributions
-- prononcées followed by a signed lease) hors QPV, mutations included, in or out of the flux base;
-- per bailleur and in total.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select
        annee,
        max(date_cal)                                                        as date_situation,
        -- the year's Q1 absent, or marked demo on real data: the objective is « non renseigné »
        max(raison_quartile)                                                 as raison
    from attributions
    group by annee
),

objectif as (
    select cible from {{ ref('ref_objectifs') }} where code = 'OBJ_Q1_HORS_QPV'
),

base as (
    select * from attributions
    where est_bail_signe and not est_qpv
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end      as bailleur,
        -- an ANRU relogement qualifies whatever its income; an unknown position against Q1
        -- (income missing) does not
        count(*) filter (where est_q1 or est_anru)                           as numerateur,
        count(*)                                                             as denominateur,
        -- the two parts of the numerator, as the CIA's table prints them
        count(*) filter (where est_q1 and not est_anru)                      as dont_q1_hors_anru,
        count(*) filter (where est_anru)                                     as dont_anru
    from base
    group by grouping sets ((annee, bailleur), (annee))
),

final as (
    select
        comptes.annee,
        comptes.bailleur,
        case when situations.raison is null then comptes.numerateur end         as numerateur,
        case when situations.raison is null then comptes.denominateur end         as denominateur,
        case when situations.raison is null
            then {{ taux('comptes.numerateur', 'comptes.denominateur') }} end as valeur,
        objectif.cible,
        case when situations.raison is null
            then {{ ecart('objectif.cible', 'comptes.numerateur', 'comptes.denominateur') }} end as ecart,
        {{ source_fichier_partage('situations.date_situation') }}          as source,
        case when situations.raison is not null
            then 'non renseigné : ' || situations.raison end                 as raison,
        -- not published: the detail of the numerator for the atlas's section-A table
        case when situations.raison is null then comptes.dont_q1_hors_anru end as dont_q1_hors_anru,
        case when situations.raison is null then comptes.dont_anru end     as dont_anru
    from comptes
    join situations on situations.annee = comptes.annee
    left join objectif on true
)

select * from final
