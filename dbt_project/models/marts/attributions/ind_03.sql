{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 3, « Bilan annuel des CALEOL » (indicators.md, section B): the CALEOL examinations of the
-- year by decision, the attributions prononcées, the baux signés and the refusals, per bailleur ×
-- réservataire (TOTAL on either). One mesure per row; denominateur = the base the mesure is read
-- against: every examination for examens_<décision> and attributions_prononcees, the attributions
-- prononcées for baux_signes and refus. The rules are int_attributions_qualifiees'.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end             as bailleur,
        case when grouping(reservataire) = 1 then 'TOTAL' else reservataire end     as reservataire,
        count(*)                                                                    as examens,
        count(*) filter (where decision = 'ATTRIBUTION')                            as examens_attribution,
        count(*) filter (where decision = 'ATTRIBUTION_RANG')                       as examens_attribution_rang,
        count(*) filter (where decision = 'ATTRIBUTION_CONDITION_SUSPENSIVE')       as examens_attribution_condition_suspensive,
        count(*) filter (where decision = 'NON_ATTRIBUTION')                        as examens_non_attribution,
        count(*) filter (where decision = 'IRRECEVABILITE')                         as examens_irrecevabilite,
        count(*) filter (where est_prononcee)                                       as attributions_prononcees,
        count(*) filter (where est_bail_signe)                                      as baux_signes,
        -- the refusal of a candidate that never became the attribution (its predecessor accepted)
        -- refuses nothing: only refusals of attributions prononcées count
        count(*) filter (where est_prononcee and est_refus)                         as refus
    from attributions
    group by grouping sets ((annee, bailleur, reservataire), (annee, bailleur), (annee, reservataire), (annee))
),

mesures as (
    select annee, bailleur, reservataire, 'examens_attribution' as mesure,
           examens_attribution as numerateur, examens as denominateur
    from comptes
    union all
    select annee, bailleur, reservataire, 'examens_attribution_rang', examens_attribution_rang, examens from comptes
    union all
    select annee, bailleur, reservataire, 'examens_attribution_condition_suspensive',
           examens_attribution_condition_suspensive, examens from comptes
    union all
    select annee, bailleur, reservataire, 'examens_non_attribution', examens_non_attribution, examens from comptes
    union all
    select annee, bailleur, reservataire, 'examens_irrecevabilite', examens_irrecevabilite, examens from comptes
    union all
    select annee, bailleur, reservataire, 'attributions_prononcees', attributions_prononcees, examens from comptes
    union all
    select annee, bailleur, reservataire, 'baux_signes', baux_signes, attributions_prononcees from comptes
    union all
    select annee, bailleur, reservataire, 'refus', refus, attributions_prononcees from comptes
),

final as (
    select
        mesures.annee,
        mesures.bailleur,
        mesures.reservataire,
        mesures.mesure,
        mesures.numerateur,
        mesures.denominateur,
        mesures.numerateur                                                          as valeur,
        {{ source_fichier_partage('situations.date_situation') }}                   as source
    from mesures
    join situations on situations.annee = mesures.annee
)

select * from final
