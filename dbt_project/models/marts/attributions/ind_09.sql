{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 9, « Évolution des attributions pour chacun des quartiles » (indicators.md, section B):
-- on two bases, named by `mesure` — attributions_prononcees (the CIA's indicator 9) and baux_signes
-- (the base of the objective OBJ_Q1_HORS_QPV: attributions followed by a signed lease), so that the
-- hors-QPV 1st-quartile share is published on both and never read against the wrong one —
-- the attributions of the year by quartile of resources per UC of the household (thresholds
-- of the year of the CALEOL, strict inequality: int_attributions_qualifiees) in each QPV and hors
-- QPV. qpv = the QPV code (QPV_LOGEMENT), HORS_QPV, or TOTAL; quartile = Q1…Q4, INCONNU (income
-- unknown), or TOTAL. valeur = share of the quartile among the attributions of the same qpv member
-- (denominateur). « En QPV » as a whole is TOTAL − HORS_QPV (the catalogue never puts a detail and
-- its aggregate in one dimension). Every member seen in any year has its row (0 when none), with the
-- previous year's figures.
with

qualifiees as (
    select
        *,
        coalesce(code_qpv, 'HORS_QPV')                                              as membre_qpv,
        {{ libelle_quartile('quartile') }}                                          as membre_quartile
    from {{ ref('int_attributions_qualifiees') }}
),

toutes_attributions as (
    select 'attributions_prononcees' as mesure, * from qualifiees where est_prononcee
    union all by name
    select 'baux_signes' as mesure, * from qualifiees where est_bail_signe
),

attributions as (
    select * from toutes_attributions
    {{ annee_filter_avec_precedente() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

grille as (
    select situations.annee, mesures.mesure, qpvs.qpv, quartiles.quartile
    from situations
    cross join (values ('attributions_prononcees'), ('baux_signes')) as mesures (mesure)
    cross join (select distinct membre_qpv as qpv from toutes_attributions) as qpvs
    cross join (
        select quartile from (values ('Q1'), ('Q2'), ('Q3'), ('Q4')) as q1_q4 (quartile)
        union
        select distinct membre_quartile from toutes_attributions
    ) as quartiles
),

cellules as (
    select grille.annee, grille.mesure, grille.qpv, grille.quartile, count(attributions.annee) as nombre
    from grille
    left join attributions
        on attributions.annee = grille.annee
        and attributions.mesure = grille.mesure
        and attributions.membre_qpv = grille.qpv
        and attributions.membre_quartile = grille.quartile
    group by grille.annee, grille.mesure, grille.qpv, grille.quartile
),

comptes as (
    select
        annee,
        mesure,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                       as qpv,
        case when grouping(quartile) = 1 then 'TOTAL' else quartile end             as quartile,
        cast(sum(nombre) as bigint)                                                 as numerateur
    from cellules
    group by grouping sets ((annee, mesure, qpv, quartile), (annee, mesure, qpv), (annee, mesure, quartile), (annee, mesure))
),

-- the base of a share: every quartile of the same qpv member, on the same base
taux as (
    select
        comptes.*,
        tous_quartiles.numerateur                                                   as denominateur,
        {{ taux('comptes.numerateur', 'tous_quartiles.numerateur') }}               as valeur
    from comptes
    join comptes as tous_quartiles
        on tous_quartiles.annee = comptes.annee
        and tous_quartiles.mesure = comptes.mesure
        and tous_quartiles.qpv = comptes.qpv
        and tous_quartiles.quartile = 'TOTAL'
),

evolution as (
    {{ avec_annee_precedente('taux', ['mesure', 'qpv', 'quartile']) }}
),

final as (
    select
        evolution.annee,
        evolution.mesure,
        evolution.qpv,
        evolution.quartile,
        evolution.numerateur,
        evolution.denominateur,
        evolution.valeur,
        evolution.numerateur_precedent,
        evolution.valeur_precedente,
        {{ source_fichier_partage('situations.date_situation') }}                   as source
    from evolution
    join situations on situations.annee = evolution.annee
    {{ annee_filter('evolution.annee') }}
)

select * from final
