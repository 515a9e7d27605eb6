{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 26, « Suivi des motifs de priorités » (indicators.md, section B): households labelled
-- prioritaires during the year (SYPLO, DATE_LABELLISATION in the year) by priority motif (DALO,
-- PDALHPD criteria a to l), with the total; denominateur = all labels of the year. Every motif seen
-- in any year has its row (0 when none). Sensitive motifs are masked by the publication layer.
with

tous_menages as (
    select * from {{ ref('stg_syplo__menages') }}
),

labellises as (
    select annee, coalesce(motif_priorite, 'INCONNU') as motif
    from tous_menages
    where year(date_labellisation) = annee
),

annees as (
    select distinct annee from tous_menages
    {{ annee_filter() }}
),

grille as (
    select annees.annee, motifs.motif
    from annees
    cross join (select distinct coalesce(motif_priorite, 'INCONNU') as motif from tous_menages) as motifs
),

cellules_comptees as (
    select grille.annee, grille.motif, count(labellises.annee) as nombre
    from grille
    left join labellises
        on labellises.annee = grille.annee
        and labellises.motif = grille.motif
    group by grille.annee, grille.motif
),

comptes as (
    select
        annee,
        case when grouping(motif) = 1 then 'TOTAL' else motif end                 as motif,
        cast(sum(nombre) as bigint)                                               as nombre
    from cellules_comptees
    group by grouping sets ((annee), (annee, motif))
),

final as (
    select
        comptes.annee,
        comptes.motif,
        comptes.nombre                                                            as numerateur,
        total.nombre                                                              as denominateur,
        comptes.nombre                                                            as valeur,
        'SYPLO ' || comptes.annee                                                 as source
    from comptes
    join comptes as total
        on total.annee = comptes.annee
        and total.motif = 'TOTAL'
)

select * from final
