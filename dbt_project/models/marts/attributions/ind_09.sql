{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 9, « Évolution des attributions pour chacun des quartiles » (indicators.md, section B):
-- attributions prononcées of the year by quartile of resources per UC of the household (thresholds
-- of the year of the CALEOL, strict inequality: int_attributions_qualifiees) in each QPV and hors
-- QPV. qpv = the QPV code (QPV_LOGEMENT), HORS_QPV, or TOTAL; quartile = Q1…Q4, INCONNU (income
-- unknown), or TOTAL. valeur = share of the quartile among the attributions of the same qpv member
-- (denominateur). « En QPV » as a whole is TOTAL − HORS_QPV (the catalogue never puts a detail and
-- its aggregate in one dimension). Every member seen in any year has its row (0 when none), with the
-- previous year's figures.
with

toutes_attributions as (
    select
        *,
        coalesce(code_qpv, 'HORS_QPV')                                              as membre_qpv,
        {{ libelle_quartile('quartile') }}                                          as membre_quartile
    from {{ ref('int_attributions_qualifiees') }}
    where est_prononcee
),

attributions as (
    select * from toutes_attributions
    {{ annee_filter_avec_precedente() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

grille as (
    select situations.annee, qpvs.qpv, quartiles.quartile
    from situations
    cross join (select distinct membre_qpv as qpv from toutes_attributions) as qpvs
    cross join (
        select quartile from (values ('Q1'), ('Q2'), ('Q3'), ('Q4')) as q1_q4 (quartile)
        union
        select distinct membre_quartile from toutes_attributions
    ) as quartiles
),

cellules as (
    select grille.annee, grille.qpv, grille.quartile, count(attributions.annee) as nombre
    from grille
    left join attributions
        on attributions.annee = grille.annee
        and attributions.membre_qpv = grille.qpv
        and attributions.membre_quartile = grille.quartile
    group by grille.annee, grille.qpv, grille.quartile
),

comptes as (
    select
        annee,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                       as qpv,
        case when grouping(quartile) = 1 then 'TOTAL' else quartile end             as quartile,
        cast(sum(nombre) as bigint)                                                 as numerateur
    from cellules
    group by grouping sets ((annee, qpv, quartile), (annee, qpv), (annee, quartile), (annee))
),

-- the base of a share: every quartile of the same qpv member
taux as (
    select
        comptes.*,
        tous_quartiles.numerateur                                                   as denominateur,
        {{ taux('comptes.numerateur', 'tous_quartiles.numerateur') }}               as valeur
    from comptes
    join comptes as tous_quartiles
        on tous_quartiles.annee = comptes.annee
        and tous_quartiles.qpv = comptes.qpv
        and tous_quartiles.quartile = 'TOTAL'
),

evolution as (
    {{ avec_annee_precedente('taux', ['qpv', 'quartile']) }}
),

final as (
    select
        evolution.annee,
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
