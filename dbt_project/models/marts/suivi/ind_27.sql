{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 27, « Suivi du nombre d'instances organisées » (indicators.md, section B), as entered
-- by the métropole (saisie ind_27): meetings held during the year by instance (CIL, commission de
-- coordination, commissions QPV, accompagnements, cas complexes), with the total. A year with an
-- atlas (RPLS) and no saisie has one row, TOTAL, with no figure and its reason: « non renseigné »,
-- never zero.
with

saisies as (
    select * from {{ ref('stg_saisies__ind_27') }}
    {{ annee_filter() }}
),

sans_saisie as (
    {{ annees_sans_saisie('stg_saisies__ind_27') }}
),

comptes as (
    select
        annee,
        case when grouping(instance) = 1 then 'TOTAL' else instance end           as instance,
        cast(sum(nb_reunions) as bigint)                                          as nombre
    from saisies
    group by grouping sets ((annee), (annee, instance))
),

final as (
    select
        annee,
        instance,
        nombre                                                                    as numerateur,
        cast(null as bigint)                                                      as denominateur,
        nombre                                                                    as valeur,
        cast(null as varchar)                                                     as raison,
        'Saisie métropole ' || annee                                              as source
    from comptes
    union all
    select
        annee,
        'TOTAL',
        null,
        null,
        null,
        {{ raison_saisie_absente() }},
        null
    from sans_saisie
)

select * from final
