{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 12, « Évolution du nombre d'occupants dépassant les plafonds » (indicators.md, section
-- B), from the enquête SLS of the year: households whose resources exceed the ceiling
-- (mesure depassement, NB_DEPASSEMENT) and exceed it by more than 20 % (depassement_120,
-- NB_DEPASSEMENT_20), by bailleur and in / hors QPV, with the totals; denominateur = households
-- that answered the survey. Every bailleur × QPV seen in any year has its rows (0 when none); each
-- row carries the previous year's value (valeur_precedente).
with

toutes_residences as (
    select
        annee,
        bailleur,
        {{ qpv_en_hors('code_qpv is not null') }}                                 as qpv,
        nb_repondants,
        nb_depassement,
        nb_depassement_20
    from {{ ref('stg_sls__residences') }}
),

residences as (
    select * from toutes_residences
    {{ annee_filter_avec_precedente() }}
),

grille as (
    select annees.annee, cellules.bailleur, cellules.qpv
    from (select distinct annee from residences) as annees
    cross join (select distinct bailleur, qpv from toutes_residences) as cellules
),

cellules_comptees as (
    select
        grille.annee,
        grille.bailleur,
        grille.qpv,
        coalesce(sum(residences.nb_repondants), 0)                                as repondants,
        coalesce(sum(residences.nb_depassement), 0)                               as depassement,
        coalesce(sum(residences.nb_depassement_20), 0)                            as depassement_120
    from grille
    left join residences
        on residences.annee = grille.annee
        and residences.bailleur = grille.bailleur
        and residences.qpv = grille.qpv
    group by grille.annee, grille.bailleur, grille.qpv
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end           as bailleur,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                     as qpv,
        cast(sum(repondants) as bigint)                                           as repondants,
        cast(sum(depassement) as bigint)                                          as depassement,
        cast(sum(depassement_120) as bigint)                                      as depassement_120
    from cellules_comptees
    group by annee, cube (bailleur, qpv)
),

mesures as (
    select
        annee,
        bailleur,
        qpv,
        mesure,
        nombre                                                                    as numerateur,
        repondants                                                                as denominateur,
        nombre                                                                    as valeur
    from comptes
    unpivot (nombre for mesure in (depassement, depassement_120))
),

evolution as (
    {{ avec_annee_precedente('mesures', ['bailleur', 'qpv', 'mesure']) }}
),

final as (
    select
        annee,
        bailleur,
        qpv,
        mesure,
        numerateur,
        denominateur,
        valeur,
        numerateur_precedent,
        valeur_precedente,
        'SLS ' || annee                                                           as source
    from evolution
    {{ annee_filter() }}
)

select * from final
