{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 8, « Évolution de la répartition des attributions par réservataires et par type de
-- logements » (indicators.md, section B): attributions prononcées of the year by réservataire ×
-- typology (TOTAL on either); valeur = share of all the attributions prononcées of the year
-- (denominateur), so that TOTAL × TOTAL is 1. Every réservataire and typology seen in any year has
-- its row (0 when none), and each row carries the previous year's figures.
with

toutes_attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    where est_prononcee
),

attributions as (
    select * from toutes_attributions
    {{ annee_filter_avec_precedente() }}
),

situations as (
    select annee, max(date_cal) as date_situation, count(*) as attributions_prononcees
    from attributions
    group by annee
),

grille as (
    select situations.annee, reservataires.reservataire, typologies.typologie
    from situations
    cross join (select distinct coalesce(reservataire, 'INCONNU') as reservataire from toutes_attributions) as reservataires
    cross join (select distinct coalesce(typologie, 'INCONNU') as typologie from toutes_attributions) as typologies
),

cellules as (
    select grille.annee, grille.reservataire, grille.typologie, count(attributions.annee) as nombre
    from grille
    left join attributions
        on attributions.annee = grille.annee
        and coalesce(attributions.reservataire, 'INCONNU') = grille.reservataire
        and coalesce(attributions.typologie, 'INCONNU') = grille.typologie
    group by grille.annee, grille.reservataire, grille.typologie
),

comptes as (
    select
        cellules.annee,
        case when grouping(cellules.reservataire) = 1 then 'TOTAL' else cellules.reservataire end as reservataire,
        case when grouping(cellules.typologie) = 1 then 'TOTAL' else cellules.typologie end       as typologie,
        cast(sum(cellules.nombre) as bigint)                                        as numerateur,
        any_value(situations.attributions_prononcees)                               as denominateur,
        any_value(situations.date_situation)                                        as date_situation
    from cellules
    join situations on situations.annee = cellules.annee
    group by grouping sets (
        (cellules.annee, cellules.reservataire, cellules.typologie),
        (cellules.annee, cellules.reservataire),
        (cellules.annee, cellules.typologie),
        (cellules.annee)
    )
),

taux as (
    select *, {{ taux('numerateur', 'denominateur') }} as valeur from comptes
),

evolution as (
    {{ avec_annee_precedente('taux', ['reservataire', 'typologie']) }}
),

final as (
    select
        annee,
        reservataire,
        typologie,
        numerateur,
        denominateur,
        valeur,
        numerateur_precedent,
        valeur_precedente,
        {{ source_fichier_partage('date_situation') }}                              as source
    from evolution
    {{ annee_filter() }}
)

select * from final
