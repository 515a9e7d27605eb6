{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Délais » (indicators.md, section C; PPGDID section 7), in months, mean and median:
--   attente      — active demands at the end of the period, from DATE_DEPOT to the situation date,
--                  by wished typology and first wished commune;
--   attribution  — baux signés of the year, DATE_CAL − DATE_DEPOT, by the dwelling's typology and
--                  commune.
-- One dimension at a time (typologie, commune), the other TOTAL; denominateur = what is described.
with

demandes as (
    select * from {{ ref('int_demandes_actives') }}
    {{ annee_filter() }}
),

attributions as (
    select * from {{ ref('int_demandes_attribuees') }}
    {{ annee_filter() }}
),

delais as (
    select
        annee,
        'attente'                                                                 as delai,
        coalesce(typologie, 'INCONNUE')                                           as typologie,
        coalesce(commune, 'INCONNUE')                                             as commune,
        anciennete_mois                                                           as mois,
        {{ source_fichier_partage('date_situation') }}                            as source
    from demandes
    where est_fin_de_periode
    union all
    select
        annee,
        'attribution'                                                             as delai,
        coalesce(typologie, 'INCONNUE')                                           as typologie,
        coalesce(commune, 'INCONNUE')                                             as commune,
        delai_attribution_mois                                                    as mois,
        'Fichier partagé ' || annee                                               as source
    from attributions
    where est_bail_signe
),

statistiques as (
    select
        annee,
        delai,
        case when grouping(typologie) = 1 then 'TOTAL' else typologie end         as typologie,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        count(mois)                                                               as descrits,
        -- a mean of exact decimals (see tableau_bord_delais_mensuel): the same file on every run
        avg(cast(mois as decimal(18, 6)))                                         as moyenne,
        median(mois)                                                              as mediane,
        any_value(source)                                                         as source
    from delais
    group by grouping sets ((annee, delai), (annee, delai, typologie), (annee, delai, commune))
),

final as (
    select
        annee,
        delai,
        statistique,
        typologie,
        commune,
        -- a délai is a statistic, not a ratio: no numerator
        cast(null as bigint)                                                      as numerateur,
        descrits                                                                  as denominateur,
        valeur,
        source
    from statistiques
    unpivot (valeur for statistique in (moyenne, mediane))
)

select * from final
