{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- OBJ_PRIO_ETAT (indicators.md, section A): on the État contingent (ETAT_PRIORITAIRES), every
-- attribution goes to a household reconnu prioritaire (DALO or PDALHPD label). Base: attributions
-- prononcées in CALEOL, refusals included, inside the flux base; per bailleur and in total.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

objectif as (
    select cible from {{ ref('ref_objectifs') }} where code = 'OBJ_PRIO_ETAT'
),

base as (
    select * from attributions
    where est_prononcee and dans_flux and reservataire = 'ETAT_PRIORITAIRES'
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end      as bailleur,
        count(*) filter (where est_prioritaire)                              as numerateur,
        count(*)                                                             as denominateur,
        -- the DALO households apart, inside the numerator (CCH L441-2-3)
        count(*) filter (where est_prioritaire and est_dalo)                 as dont_dalo
    from base
    group by grouping sets ((annee, bailleur), (annee))
),

final as (
    select
        comptes.annee,
        comptes.bailleur,
        comptes.numerateur,
        comptes.denominateur,
        {{ taux('comptes.numerateur', 'comptes.denominateur') }}             as valeur,
        objectif.cible,
        {{ ecart('objectif.cible', 'comptes.numerateur', 'comptes.denominateur') }} as ecart,
        comptes.dont_dalo,
        {{ taux('comptes.dont_dalo', 'comptes.denominateur') }}              as part_dalo,
        {{ source_fichier_partage('situations.date_situation') }}          as source
    from comptes
    join situations on situations.annee = comptes.annee
    left join objectif on true
)

select * from final
