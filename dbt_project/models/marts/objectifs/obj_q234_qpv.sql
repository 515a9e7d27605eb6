{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- OBJ_Q234_QPV (indicators.md, section A): 75 % of the attributions in QPV (the CIA's local target)
-- go to households above the 1st quartile; the law's floor, 50 % « a minima » (CCH L441-1), is what
-- the préfet checks: published beside it as cible_legale / ecart_legal, with the same formula. Base: attributions prononcées in QPV,
-- refusals included; per bailleur, per QPV, and in total.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

-- the year's situation and what the extract does not let the QPV rule see (macros/objectifs.sql)
{{ situations_quartiles() }}

objectif as (
    select cible, cible_legale from {{ ref('ref_objectifs') }} where code = 'OBJ_Q234_QPV'
),

base as (
    select * from attributions
    -- QPV as the law counts it (int_attributions_qualifiees: transition periods, QVA)
    where est_prononcee and est_qpv_loi
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end      as bailleur,
        case when grouping(code_qpv) = 1 then 'TOTAL' else code_qpv end      as qpv,
        -- above Q1 (Q1 alone decides it); an unknown position does not qualify
        count(*) filter (where not est_q1)                                   as numerateur,
        count(*)                                                             as denominateur
    from base
    group by grouping sets ((annee, bailleur, code_qpv), (annee, bailleur), (annee, code_qpv), (annee))
),

final as (
    select
        comptes.annee,
        comptes.bailleur,
        comptes.qpv,
        case when situations.raison is null then comptes.numerateur end         as numerateur,
        case when situations.raison is null then comptes.denominateur end         as denominateur,
        case when situations.raison is null
            then {{ taux('comptes.numerateur', 'comptes.denominateur') }} end as valeur,
        objectif.cible,
        case when situations.raison is null
            then {{ ecart('objectif.cible', 'comptes.numerateur', 'comptes.denominateur') }} end as ecart,
        objectif.cible_legale,
        case when situations.raison is null
            then {{ ecart('objectif.cible_legale', 'comptes.numerateur', 'comptes.denominateur') }} end as ecart_legal,
        {{ source_fichier_partage('situations.date_situation') }}          as source,
        {{ raison_quartiles() }}                                             as raison
    from comptes
    join situations on situations.annee = comptes.annee
    left join constats on constats.annee = comptes.annee
    left join objectif on true
)

select * from final
