{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 14, « Évolution du nombre de ménages reconnus prioritaires » (indicators.md, section B),
-- from the SYPLO extract of the year (situation on 31 December):
--   labellises_annee   — households labelled during the year (DATE_LABELLISATION in the year);
--   stock_31_decembre  — households still to rehouse (STATUT = A_RELOGER) at the end of the year.
-- « Évolution » : each row carries the previous year's value (valeur_precedente).
with

menages as (
    select * from {{ ref('stg_syplo__menages') }}
    {{ annee_filter_avec_precedente() }}
),

comptes as (
    select
        annee,
        count(*) filter (where year(date_labellisation) = annee)                  as labellises_annee,
        count(*) filter (where statut = 'A_RELOGER')                              as stock_31_decembre
    from menages
    group by annee
),

mesures as (
    select
        annee,
        mesure,
        nombre                                                                    as numerateur,
        cast(null as bigint)                                                      as denominateur,
        nombre                                                                    as valeur
    from comptes
    unpivot (nombre for mesure in (labellises_annee, stock_31_decembre))
),

evolution as (
    {{ avec_annee_precedente('mesures', ['mesure']) }}
),

final as (
    select
        annee,
        mesure,
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
