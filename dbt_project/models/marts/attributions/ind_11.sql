{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 11, « Évolution du nombre d'attributions en faveur des publics prioritaires par
-- réservataire » (indicators.md, section B; sources SNE + SYPLO): attributions prononcées of the year
-- whose household is reconnu prioritaire in SYPLO, per réservataire and TOTAL; denominateur = the
-- réservataire's attributions prononcées. SYPLO is the register of the labels: a household counts
-- when one of the SYPLO extracts holds its label dated on or before the CALEOL and not struck off
-- (RADIE) before it. The extract's own PRIORITAIRE / DALO flags (what the objectives count) are kept
-- beside it (prioritaires_extrait) to show the gap. A year without a SYPLO extract has no numerateur
-- (« non renseigné », with its raison), never 0.
with

toutes_attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    where est_prononcee
),

attributions as (
    select * from toutes_attributions
    {{ annee_filter_avec_precedente() }}
),

syplo as (
    select * from {{ ref('stg_syplo__menages') }}
),

-- A label appears in every extract while it lives; its latest extract carries its latest status.
labels as (
    select * from syplo
    qualify row_number() over (partition by num_unique, date_labellisation order by annee desc) = 1
),

annees_syplo as (
    select distinct annee from syplo
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

rapprochees as (
    select
        attributions.annee,
        coalesce(attributions.reservataire, 'INCONNU')                              as reservataire,
        attributions.est_prioritaire                                                as prioritaire_extrait,
        exists (
            select 1
            from labels
            where labels.num_unique = attributions.num_unique
                and labels.date_labellisation <= attributions.date_cal
                -- struck off before the CALEOL (or on an unknown date): no longer prioritaire
                and (labels.statut is distinct from 'RADIE' or labels.date_statut >= attributions.date_cal)
        )                                                                           as prioritaire_syplo
    from attributions
),

grille as (
    select situations.annee, reservataires.reservataire
    from situations
    cross join (select distinct coalesce(reservataire, 'INCONNU') as reservataire from toutes_attributions)
        as reservataires
),

cellules as (
    select
        grille.annee,
        grille.reservataire,
        count(rapprochees.annee) filter (where rapprochees.prioritaire_syplo)       as prioritaires_syplo,
        count(rapprochees.annee) filter (where rapprochees.prioritaire_extrait)     as prioritaires_extrait,
        count(rapprochees.annee)                                                    as attributions_prononcees
    from grille
    left join rapprochees
        on rapprochees.annee = grille.annee
        and rapprochees.reservataire = grille.reservataire
    group by grille.annee, grille.reservataire
),

comptes as (
    select
        cellules.annee,
        case when grouping(cellules.reservataire) = 1 then 'TOTAL' else cellules.reservataire end as reservataire,
        -- no SYPLO extract for the year: the numerator is unknown, not zero
        case when annees_syplo.annee is not null
            then cast(sum(cellules.prioritaires_syplo) as bigint) end               as numerateur,
        cast(sum(cellules.attributions_prononcees) as bigint)                       as denominateur,
        cast(sum(cellules.prioritaires_extrait) as bigint)                          as prioritaires_extrait,
        case when annees_syplo.annee is null
            then 'non renseigné : extrait SYPLO absent' end                         as raison,
        annees_syplo.annee is not null                                              as syplo_present
    from cellules
    left join annees_syplo on annees_syplo.annee = cellules.annee
    group by grouping sets ((cellules.annee, cellules.reservataire, annees_syplo.annee),
                            (cellules.annee, annees_syplo.annee))
),

valeurs as (
    select *, numerateur as valeur from comptes
),

evolution as (
    {{ avec_annee_precedente('valeurs', ['reservataire']) }}
),

final as (
    select
        evolution.annee,
        evolution.reservataire,
        evolution.numerateur,
        evolution.denominateur,
        evolution.valeur,
        evolution.numerateur_precedent,
        evolution.valeur_precedente,
        evolution.raison,
        {{ source_fichier_partage('situations.date_situation') }}
            || case when evolution.syplo_present then ', SYPLO ' || evolution.annee else '' end as source,
        -- not published: the same count on the extract's PRIORITAIRE / DALO flags
        evolution.prioritaires_extrait
    from evolution
    join situations on situations.annee = evolution.annee
    {{ annee_filter('evolution.annee') }}
)

select * from final
