{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 23, « Nombre de mutations par bailleur » (indicators.md, section B): baux signés of the
-- year with MUTATION = O (the household already rented a social dwelling), per bailleur of the new
-- dwelling and TOTAL; denominateur = the bailleur's baux signés. Internal and inter-bailleur
-- mutations alike (indicator 24 has the inter-bailleur ones).
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end             as bailleur,
        count(*) filter (where est_mutation)                                        as numerateur,
        count(*)                                                                    as denominateur
    from attributions
    where est_bail_signe
    group by grouping sets ((annee, bailleur), (annee))
),

final as (
    select
        comptes.annee,
        comptes.bailleur,
        comptes.numerateur,
        comptes.denominateur,
        comptes.numerateur                                                          as valeur,
        {{ source_fichier_partage('situations.date_situation') }}                   as source
    from comptes
    join situations on situations.annee = comptes.annee
)

select * from final
