{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 4, « Cartographie des loyers » (indicators.md, section B): rent per m² of the let
-- dwellings (RPLS MODE 1, restricted extension) per m² of surface utile — int_logements_loyers
-- decides which rents are comparable (MODESURF = U) — by IRIS, by commune (iris = TOTAL) and for the
-- EPCI (commune = iris = TOTAL): median, 1st and 3rd quartiles; denominateur = let dwellings with a
-- rent per m² of surface utile. The share below the PLAI rent ceiling, in and out of QPV, is
-- diag_bas_loyers.
with

loyers as (
    select * from {{ ref('int_logements_loyers') }}
    {{ annee_filter() }}
),

loues as (
    select
        annee,
        code_insee                                                                as commune,
        coalesce(iris, 'INCONNU')                                                 as iris,
        loyer_m2
    from loyers
    where loyer_m2 is not null
),

statistiques as (
    select
        annee,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        case when grouping(iris) = 1 then 'TOTAL' else iris end                   as iris,
        count(*)                                                                  as loues,
        quantile_cont(loyer_m2, 0.5)                                              as mediane,
        quantile_cont(loyer_m2, 0.25)                                             as premier_quartile,
        quantile_cont(loyer_m2, 0.75)                                             as troisieme_quartile
    from loues
    group by grouping sets ((annee), (annee, commune), (annee, commune, iris))
),

final as (
    select
        annee,
        commune,
        iris,
        statistique,
        -- a rent statistic is not a ratio: no numerator
        cast(null as bigint)                                                      as numerateur,
        loues                                                                     as denominateur,
        valeur,
        'RPLS ' || annee                                                          as source
    from statistiques
    unpivot (valeur for statistique in (mediane, premier_quartile, troisieme_quartile))
)

select * from final
