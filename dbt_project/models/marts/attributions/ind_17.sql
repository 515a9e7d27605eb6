{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 17, « Évolution du nombre de refus par résidence » (indicators.md, section B): refusals
-- (REFUS, or SANS_REPONSE — deemed refused after the legal delay) of the attributions prononcées of
-- the year, per bailleur × résidence, with the bailleur's and the EPCI's totals; valeur = refusal
-- rate = refus / attributions prononcées of the résidence (denominateur). The numerateur is the
-- number of refusals. A résidence appears the years it had an attribution; the previous year's
-- figures are carried. Fine geography: the publication layer masks small résidences.
with

toutes_attributions as (
    select
        *,
        -- résidences are the bailleur's own grouping: a dwelling without one is INCONNU
        coalesce(residence_id, 'INCONNU')                                           as membre_residence
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

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end             as bailleur,
        case when grouping(membre_residence) = 1 then 'TOTAL' else membre_residence end as residence,
        count(*) filter (where est_refus)                                           as numerateur,
        count(*)                                                                    as denominateur
    from attributions
    group by grouping sets ((annee, bailleur, membre_residence), (annee, bailleur), (annee))
),

taux as (
    select *, {{ taux('numerateur', 'denominateur') }} as valeur from comptes
),

evolution as (
    {{ avec_annee_precedente('taux', ['bailleur', 'residence']) }}
),

final as (
    select
        evolution.annee,
        evolution.bailleur,
        evolution.residence,
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
