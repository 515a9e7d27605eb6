{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- OBJ_Q1_HORS_QPV (indicators.md, section A): 25 % of the attributions hors QPV go to 1st-quartile
-- households or to households relogés ANRU or by an opération de requalification des copropriétés
-- dégradées (whatever their income; CCH L441-1, CIA section 1.2). Base: baux signés (attributions
-- prononcées followed by a signed lease) hors QPV, mutations included, in or out of the flux base;
-- per bailleur and in total.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

-- the year's situation and what the extract does not let the QPV rule see (macros/objectifs.sql)
{{ situations_quartiles() }}

objectif as (
    select cible from {{ ref('ref_objectifs') }} where code = 'OBJ_Q1_HORS_QPV'
),

base as (
    select * from attributions
    -- QPV as the law counts it (int_attributions_qualifiees: transition periods, QVA)
    where est_bail_signe and not est_qpv_loi
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end      as bailleur,
        -- an ANRU or copropriété dégradée relogement qualifies whatever its income
        -- (int_attributions_qualifiees); an unknown quartile (income or thresholds missing) does not
        count(*) filter (where est_q1 or est_relogement_hors_revenu)         as numerateur,
        count(*)                                                             as denominateur,
        -- the parts of the numerator, as the CIA's table prints them
        count(*) filter (where est_q1 and not est_relogement_hors_revenu)    as dont_q1_hors_anru,
        count(*) filter (where est_anru)                                     as dont_anru,
        count(*) filter (where est_relogement_copro and not est_anru)        as dont_copro_degradee
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
        {{ raison_quartiles() }}                                             as raison,
        -- not published: the detail of the numerator for the atlas's section-A table
        case when situations.raison is null then comptes.dont_q1_hors_anru end as dont_q1_hors_anru,
        case when situations.raison is null then comptes.dont_anru end     as dont_anru,
        case when situations.raison is null then comptes.dont_copro_degradee end as dont_copro_degradee
    from comptes
    join situations on situations.annee = comptes.annee
    left join constats on constats.annee = comptes.annee
    left join objectif on true
)

select * from final
