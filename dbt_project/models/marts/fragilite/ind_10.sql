{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 10 of the CIA (section 6.2), « Évolution des attributions réalisées dans les résidences
-- fragiles »: the attributions prononcées of the year (int_attributions_qualifiees, whose rules are
-- not repeated here) in the résidences classed fragile or très fragile by the survey that stands
-- for the year (int_fragilite_classement), by quartile of the household and priority status, with
-- the same cell of the year before (valeur_precedente: the same résidences, whatever their class
-- then). numerateur = valeur = attributions of the cell; denominateur = attributions prononcées in
-- the résidence (or in all fragile résidences for residence = TOTAL) that year. Each fragile
-- résidence has its total row (quartile and statut TOTAL); the quartile × statut grid is given for
-- all fragile résidences together (residence = TOTAL), 0 where no attribution: a résidence's own
-- grid counts a handful of attributions per cell, and 95 % of it would be masked by the disclosure
-- rule (indicators.md, section F) while making the audit of the rest intractable.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    where est_prononcee and residence_id is not null
),

annees_attributions as (
    select distinct annee from attributions
),

fragiles as (
    select * from {{ ref('int_fragilite_classement') }}
    where maille = 'RESIDENCE' and est_fragile
),

quartiles as (
    select * from (values ('Q1'), ('Q2'), ('Q3'), ('Q4'), ('INCONNU'), ('TOTAL')) as quartiles (quartile)
),

statuts as (
    select * from (values ('PRIORITAIRE'), ('NON_PRIORITAIRE'), ('TOTAL')) as statuts (statut_prioritaire)
),

-- attributions by résidence × quartile × status, every résidence and year (the year before of a
-- fragile résidence may precede its classification)
par_residence as (
    select
        annee,
        residence_id,
        case when grouping(quartile) = 1 then 'TOTAL' else quartile end   as quartile,
        case when grouping(statut_prioritaire) = 1 then 'TOTAL' else statut_prioritaire end as statut_prioritaire,
        count(*)                                                           as attributions
    from (
        select
            annee,
            residence_id,
            {{ libelle_quartile('quartile') }}                             as quartile,
            case when est_prioritaire then 'PRIORITAIRE' else 'NON_PRIORITAIRE' end as statut_prioritaire
        from attributions
    ) as qualifiees
    group by grouping sets ((annee, residence_id, quartile, statut_prioritaire), (annee, residence_id, quartile),
                            (annee, residence_id, statut_prioritaire), (annee, residence_id))
),

-- the full grid of every fragile résidence of a year with attributions data
lignes as (
    select
        fragiles.annee,
        fragiles.annee_enquete,
        fragiles.unite                                                     as residence_id,
        quartiles.quartile,
        statuts.statut_prioritaire,
        coalesce(actuelle.attributions, 0)                                 as attributions,
        coalesce(total_residence.attributions, 0)                          as attributions_residence,
        -- null (not 0) when the year before has no attribution extract
        case when annee_avant.annee is not null
            then coalesce(precedente.attributions, 0) end                  as attributions_precedentes
    from fragiles
    cross join quartiles
    cross join statuts
    left join par_residence as actuelle
        on actuelle.annee = fragiles.annee
        and actuelle.residence_id = fragiles.unite
        and actuelle.quartile = quartiles.quartile
        and actuelle.statut_prioritaire = statuts.statut_prioritaire
    left join par_residence as total_residence
        on total_residence.annee = fragiles.annee
        and total_residence.residence_id = fragiles.unite
        and total_residence.quartile = 'TOTAL'
        and total_residence.statut_prioritaire = 'TOTAL'
    left join par_residence as precedente
        on precedente.annee = fragiles.annee - 1
        and precedente.residence_id = fragiles.unite
        and precedente.quartile = quartiles.quartile
        and precedente.statut_prioritaire = statuts.statut_prioritaire
    left join annees_attributions as annee_avant on annee_avant.annee = fragiles.annee - 1
    -- a year without any attribution extract is « non renseigné », not a column of zeros
    where fragiles.annee in (select annee from annees_attributions)
),

comptes as (
    select
        annee,
        annee_enquete,
        case when grouping(residence_id) = 1 then 'TOTAL' else residence_id end as residence,
        quartile,
        statut_prioritaire,
        sum(attributions)                                                  as numerateur,
        sum(attributions_residence)                                        as denominateur,
        sum(attributions_precedentes)                                      as valeur_precedente
    from lignes
    group by grouping sets ((annee, annee_enquete, quartile, statut_prioritaire, residence_id),
                            (annee, annee_enquete, quartile, statut_prioritaire))
),

final as (
    select
        annee,
        residence,
        quartile,
        statut_prioritaire,
        numerateur,
        denominateur,
        numerateur                                                         as valeur,
        annee_enquete,
        annee - 1                                                          as annee_precedente,
        valeur_precedente,
        numerateur - valeur_precedente                                     as evolution,
        'Fichier partagé ' || annee || ', OPS ' || annee_enquete          as source
    from comptes
    where residence = 'TOTAL' or (quartile = 'TOTAL' and statut_prioritaire = 'TOTAL')
)

select * from final
{{ annee_filter() }}
