{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Parc » (indicators.md, section C): dwellings of the parc social on 1 January (RPLS
-- millésime) by IRIS, with the commune's and the EPCI's totals (iris = TOTAL). The share of the
-- IRIS's résidences principales needs INSEE's count of résidences principales, which no source of
-- the observatoire carries yet: denominateur stays null until it does (fine geography: the
-- publication layer masks IRIS of fewer than 11 dwellings).
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

comptes as (
    select
        annee,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        case when grouping(iris) = 1 then 'TOTAL' else iris end                   as iris,
        count(*)                                                                  as logements,
        count(*) filter (where est_qpv)                                           as logements_qpv
    from (
        select annee, code_insee as commune, coalesce(iris, 'INCONNU') as iris, est_qpv
        from logements
    )
    group by grouping sets ((annee), (annee, commune), (annee, commune, iris))
),

final as (
    select
        annee,
        commune,
        iris,
        logements                                                                 as numerateur,
        cast(null as bigint)                                                      as denominateur,
        logements                                                                 as valeur,
        logements_qpv,
        'RPLS ' || annee                                                          as source
    from comptes
)

select * from final
