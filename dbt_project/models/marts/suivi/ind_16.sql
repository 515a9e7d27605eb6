{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 16, « Évolution du nombre de publics prioritaires bénéficiant d'un accompagnement social
-- par dispositif » (indicators.md, section B): the households of the SYPLO extract of the year — in
-- stock on 31 December, or rehoused or struck off during the year — by ACCOMPAGNEMENT (ASLL, AVDL,
-- IML, ACCORD_COLLECTIF, ACOR, LOGEMENT_D_ABORD, AUTRE, AUCUN), with the total; denominateur = all
-- of them (numerateur / denominateur is the share of each dispositif). Every dispositif seen in any
-- year has its row (0 when none); each row carries the previous year's value (valeur_precedente).
with

tous_menages as (
    select * from {{ ref('stg_syplo__menages') }}
),

menages as (
    select annee, coalesce(accompagnement, 'INCONNU') as accompagnement
    from tous_menages
    {{ annee_filter_avec_precedente() }}
),

grille as (
    select annees.annee, dispositifs.accompagnement
    from (select distinct annee from menages) as annees
    cross join (select distinct coalesce(accompagnement, 'INCONNU') as accompagnement from tous_menages)
        as dispositifs
),

cellules_comptees as (
    select grille.annee, grille.accompagnement, count(menages.annee) as nombre
    from grille
    left join menages
        on menages.annee = grille.annee
        and menages.accompagnement = grille.accompagnement
    group by grille.annee, grille.accompagnement
),

comptes as (
    select
        annee,
        case when grouping(accompagnement) = 1 then 'TOTAL' else accompagnement end as accompagnement,
        cast(sum(nombre) as bigint)                                               as numerateur
    from cellules_comptees
    group by grouping sets ((annee), (annee, accompagnement))
),

avec_total as (
    select
        comptes.annee,
        comptes.accompagnement,
        comptes.numerateur,
        total.numerateur                                                          as denominateur,
        comptes.numerateur                                                        as valeur
    from comptes
    join comptes as total
        on total.annee = comptes.annee
        and total.accompagnement = 'TOTAL'
),

evolution as (
    {{ avec_annee_precedente('avec_total', ['accompagnement']) }}
),

final as (
    select
        annee,
        accompagnement,
        numerateur,
        denominateur,
        valeur,
        numerateur_precedent,
        valeur_precedente,
        'SYPLO ' || annee                                                         as source
    from evolution
    {{ annee_filter() }}
)

select * from final
