{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 18, « Évolution du nombre de sorties d'une structure d'hébergement vers le parc social »
-- (indicators.md, section B), counted on two bases, named by `mesure` (the two sources do not see
-- the same households: SYPLO only the households labelled prioritaires, the attribution extract
-- every lease):
-- - SYPLO: households of the SYPLO extract leaving a shelter (SORTANT_HEBERGEMENT) rehoused during the
--   year (STATUT = RELOGE, DATE_STATUT in the year), by bailleur de relogement; denominateur = all
--   households rehoused during the year by that bailleur;
-- - ATTRIBUTIONS: baux signés of the year (int_attributions_qualifiees) to households leaving a
--   shelter (SORTANT_HEBERGEMENT of the attribution extract), by bailleur of the dwelling;
--   denominateur = all baux signés of the year of that bailleur.
-- With the total per mesure. Every bailleur seen in any year has its row (0 when none); each row
-- carries the previous year's value (valeur_precedente).
with

tous_menages as (
    select * from {{ ref('stg_syplo__menages') }}
),

toutes_attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
),

reloges as (
    select
        'SYPLO'                                                                   as mesure,
        annee,
        coalesce(bailleur_relogement, 'INCONNU')                                  as bailleur,
        coalesce(sortant_hebergement, false)                                      as sortant_hebergement
    from tous_menages
    where statut = 'RELOGE' and year(date_statut) = annee
    union all
    select
        'ATTRIBUTIONS'                                                            as mesure,
        annee,
        coalesce(bailleur, 'INCONNU')                                             as bailleur,
        coalesce(sortant_hebergement, false)                                      as sortant_hebergement
    from toutes_attributions
    where est_bail_signe
),

-- the years each base's source has (a base without its extract that year is not published as 0)
annees as (
    select * from (
        select distinct annee, 'SYPLO' as mesure from tous_menages
        union
        select distinct annee, 'ATTRIBUTIONS' as mesure from toutes_attributions
    ) as annees_sources
    {{ annee_filter_avec_precedente() }}
),

grille as (
    select annees.annee, annees.mesure, bailleurs.bailleur
    from annees
    cross join (select distinct bailleur from reloges) as bailleurs
),

cellules_comptees as (
    select
        grille.annee,
        grille.mesure,
        grille.bailleur,
        count(reloges.annee) filter (where reloges.sortant_hebergement)            as sortants,
        count(reloges.annee)                                                      as reloges
    from grille
    left join reloges
        on reloges.annee = grille.annee
        and reloges.mesure = grille.mesure
        and reloges.bailleur = grille.bailleur
    group by grille.annee, grille.mesure, grille.bailleur
),

comptes as (
    select
        annee,
        mesure,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end           as bailleur,
        cast(sum(sortants) as bigint)                                             as numerateur,
        cast(sum(reloges) as bigint)                                              as denominateur,
        cast(sum(sortants) as bigint)                                             as valeur
    from cellules_comptees
    group by grouping sets ((annee, mesure), (annee, mesure, bailleur))
),

evolution as (
    {{ avec_annee_precedente('comptes', ['mesure', 'bailleur']) }}
),

final as (
    select
        annee,
        mesure,
        bailleur,
        numerateur,
        denominateur,
        valeur,
        numerateur_precedent,
        valeur_precedente,
        case mesure when 'SYPLO' then 'SYPLO ' else 'Fichier partagé ' end || annee as source
    from evolution
    {{ annee_filter() }}
)

select * from final
