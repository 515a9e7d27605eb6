{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 25, « Répartition de l'offre locative sociale par produit » (indicators.md, section B):
--   parc       — dwellings of the parc social on 1 January (RPLS millésime) by product family
--                (PLAI, PLUS, PLS, PLI, AUTRE, AVANT_1977; ref_financements) and commune;
--   agrements  — dwellings agreed during the year (SISAL) by product (PLAI, PLUS, PLS) and commune.
-- With the totals (TOTAL); denominateur = the commune's total of the mesure, so that numerateur /
-- denominateur is each product's share. A missing SISAL extract leaves the agrements rows out.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

agrements as (
    select * from {{ ref('stg_sisal__agrements') }}
    {{ annee_filter() }}
),

unites as (
    select annee, 'parc' as mesure, code_insee as commune, coalesce(famille_produit, 'INCONNU') as produit,
           1 as nombre, 'RPLS ' || annee as source
    from logements
    union all
    select annee, 'agrements', code_insee, produit, nb_logements, 'SISAL ' || annee
    from agrements
),

comptes as (
    select
        annee,
        mesure,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        case when grouping(produit) = 1 then 'TOTAL' else produit end             as produit,
        cast(sum(nombre) as bigint)                                               as nombre,
        any_value(source)                                                         as source
    from unites
    group by annee, mesure, cube (commune, produit)
),

final as (
    select
        comptes.annee,
        comptes.commune,
        comptes.produit,
        comptes.mesure,
        comptes.nombre                                                            as numerateur,
        de_la_commune.nombre                                                      as denominateur,
        comptes.nombre                                                            as valeur,
        comptes.source
    from comptes
    join comptes as de_la_commune
        on de_la_commune.annee = comptes.annee
        and de_la_commune.mesure = comptes.mesure
        and de_la_commune.commune = comptes.commune
        and de_la_commune.produit = 'TOTAL'
)

select * from final
