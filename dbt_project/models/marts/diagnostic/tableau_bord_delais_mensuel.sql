{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Monthly dashboard (indicators.md, section C): mean waiting time, in months, of the active demands
-- at the end of each month (délai d'attente, int_demandes_actives), by wished typology and in
-- total; denominateur = active demands described.
with

demandes as (
    select * from {{ ref('int_demandes_actives') }}
    {{ annee_filter() }}
),

comptes as (
    select
        annee,
        mois,
        case when grouping(typologie) = 1 then 'TOTAL' else typologie end         as typologie,
        count(anciennete_mois)                                                    as denominateur,
        -- a mean of exact decimals: doubles summed by several threads change in their last digits
        -- from one run to the next, and the published file with them
        avg(cast(anciennete_mois as decimal(18, 6)))                              as valeur
    from (select annee, mois, coalesce(typologie, 'INCONNUE') as typologie, anciennete_mois from demandes)
    group by grouping sets ((annee, mois), (annee, mois, typologie))
),

final as (
    select
        annee,
        mois,
        typologie,
        -- a mean délai is a statistic, not a ratio: no numerator
        cast(null as bigint)                                                      as numerateur,
        denominateur,
        valeur,
        'Fichier partagé ' || annee || '-' || lpad(cast(mois as varchar), 2, '0') as source
    from comptes
)

select * from final
