{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 21, « Nombre de logements en intermédiation locative par type de dispositif »
-- (indicators.md, section B), as entered by the métropole (saisie ind_21): dwellings in
-- intermédiation locative on 31 December by dispositif (mandat de gestion, sous-location, bail
-- glissant, autre), with the total; denominateur = the total, for each dispositif's share. A year
-- with an atlas (RPLS) and no saisie has one row, TOTAL, with no figure and its reason.
with

saisies as (
    select * from {{ ref('stg_saisies__ind_21') }}
    {{ annee_filter() }}
),

sans_saisie as (
    {{ annees_sans_saisie('stg_saisies__ind_21') }}
),

comptes as (
    select
        annee,
        case when grouping(dispositif) = 1 then 'TOTAL' else dispositif end       as dispositif,
        cast(sum(logements) as bigint)                                            as nombre
    from saisies
    group by grouping sets ((annee), (annee, dispositif))
),

final as (
    select
        comptes.annee,
        comptes.dispositif,
        comptes.nombre                                                            as numerateur,
        total.nombre                                                              as denominateur,
        comptes.nombre                                                            as valeur,
        cast(null as varchar)                                                     as raison,
        'Saisie métropole ' || comptes.annee                                      as source
    from comptes
    join comptes as total
        on total.annee = comptes.annee
        and total.dispositif = 'TOTAL'
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
