{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 15, « Évolution du nombre de ménages restant à reloger par motif de priorité »
-- (indicators.md, section B): households with STATUT = A_RELOGER in the SYPLO extract of the year
-- (31 December) by priority motif and by age of their label on 31 December (less than 6 months,
-- 6 to 12 months, 1 to 2 years, 2 years and more), with the totals (TOTAL). Every motif × age seen
-- in any year has its row (0 when none), so that the previous year's value (valeur_precedente)
-- is carried even when a cell empties. Sensitive motifs are masked by the publication layer.
with

tous_menages as (
    select * from {{ ref('stg_syplo__menages') }}
),

a_reloger as (
    select
        annee,
        coalesce(motif_priorite, 'INCONNU')                                       as motif,
        case
            when date_labellisation is null then 'INCONNUE'
            when date_labellisation > make_date(annee, 12, 31) - interval 6 month then 'MOINS_6_MOIS'
            when date_labellisation > make_date(annee, 12, 31) - interval 12 month then '6_12_MOIS'
            when date_labellisation > make_date(annee, 12, 31) - interval 24 month then '1_2_ANS'
            else '2_ANS_ET_PLUS'
        end                                                                       as anciennete_label
    from tous_menages
    where statut = 'A_RELOGER'
),

annees as (
    select distinct annee from tous_menages
    {{ annee_filter_avec_precedente() }}
),

-- the cells: every motif × age seen in any year, for every year of the extract
grille as (
    select annees.annee, cellules.motif, cellules.anciennete_label
    from annees
    cross join (select distinct motif, anciennete_label from a_reloger) as cellules
),

cellules_comptees as (
    select grille.annee, grille.motif, grille.anciennete_label, count(a_reloger.annee) as nombre
    from grille
    left join a_reloger
        on a_reloger.annee = grille.annee
        and a_reloger.motif = grille.motif
        and a_reloger.anciennete_label = grille.anciennete_label
    group by grille.annee, grille.motif, grille.anciennete_label
),

comptes as (
    select
        annee,
        case when grouping(motif) = 1 then 'TOTAL' else motif end                 as motif,
        case when grouping(anciennete_label) = 1 then 'TOTAL' else anciennete_label end as anciennete_label,
        cast(sum(nombre) as bigint)                                               as numerateur,
        cast(null as bigint)                                                      as denominateur,
        cast(sum(nombre) as bigint)                                               as valeur
    from cellules_comptees
    group by annee, cube (motif, anciennete_label)
),

evolution as (
    {{ avec_annee_precedente('comptes', ['motif', 'anciennete_label']) }}
),

final as (
    select
        annee,
        motif,
        anciennete_label,
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
