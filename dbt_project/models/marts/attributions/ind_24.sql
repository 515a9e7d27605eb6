{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 24, « Nombre de mutations réalisées inter-bailleurs » (indicators.md, section B):
-- mutations (baux signés with MUTATION = O) where the bailleur the tenant leaves differs from the
-- bailleur of the new dwelling (BAILLEUR_ORIGINE ≠ BAILLEUR), per bailleur d'origine × bailleur
-- d'accueil, TOTAL on either. denominateur = every mutation of the cell, so that the diagonal
-- (origine = accueil) shows the internal mutations with numerateur 0 and the members sum to TOTAL.
-- A mutation whose origin is not given is under bailleur_origine = INCONNU and is not counted as
-- inter-bailleur.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

mutations as (
    select *, coalesce(bailleur_origine, 'INCONNU') as membre_origine
    from attributions
    where est_bail_signe and est_mutation
),

comptes as (
    select
        annee,
        case when grouping(membre_origine) = 1 then 'TOTAL' else membre_origine end as bailleur_origine,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end             as bailleur,
        count(*) filter (where mutation_inter_bailleurs)                            as numerateur,
        count(*)                                                                    as denominateur
    from mutations
    group by grouping sets ((annee, membre_origine, bailleur), (annee, membre_origine), (annee, bailleur), (annee))
),

final as (
    select
        comptes.annee,
        comptes.bailleur_origine,
        comptes.bailleur,
        comptes.numerateur,
        comptes.denominateur,
        comptes.numerateur                                                          as valeur,
        {{ source_fichier_partage('situations.date_situation') }}                   as source
    from comptes
    join situations on situations.annee = comptes.annee
)

select * from final
