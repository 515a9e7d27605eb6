{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 18, « Évolution du nombre de sorties d'une structure d'hébergement vers le parc social »
-- (indicators.md, section B): households of the SYPLO extract leaving a shelter
-- (SORTANT_HEBERGEMENT) rehoused during the year (STATUT = RELOGE, DATE_STATUT in the year), by
-- bailleur de relogement, with the total; denominateur = all households rehoused during the year by
-- that bailleur. Every bailleur seen rehousing in any year has its row (0 when none); each row
-- carries the previous year's value (valeur_precedente).
with

tous_menages as (
    select * from {{ ref('stg_syplo__menages') }}
),

reloges as (
    select
        annee,
        coalesce(bailleur_relogement, 'INCONNU')                                  as bailleur,
        coalesce(sortant_hebergement, false)                                      as sortant_hebergement
    from tous_menages
    where statut = 'RELOGE' and year(date_statut) = annee
),

annees as (
    select distinct annee from tous_menages
    {{ annee_filter_avec_precedente() }}
),

grille as (
    select annees.annee, bailleurs.bailleur
    from annees
    cross join (select distinct bailleur from reloges) as bailleurs
),

cellules_comptees as (
    select
        grille.annee,
        grille.bailleur,
        count(reloges.annee) filter (where reloges.sortant_hebergement)            as sortants,
        count(reloges.annee)                                                      as reloges
    from grille
    left join reloges
        on reloges.annee = grille.annee
        and reloges.bailleur = grille.bailleur
    group by grille.annee, grille.bailleur
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end           as bailleur,
        cast(sum(sortants) as bigint)                                             as numerateur,
        cast(sum(reloges) as bigint)                                              as denominateur,
        cast(sum(sortants) as bigint)                                             as valeur
    from cellules_comptees
    group by grouping sets ((annee), (annee, bailleur))
),

evolution as (
    {{ avec_annee_precedente('comptes', ['bailleur']) }}
),

final as (
    select
        annee,
        bailleur,
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
