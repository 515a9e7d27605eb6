{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Délais » (indicators.md, section C): active demands at the end of the period filed
-- more than the préfet's « délai anormalement long » before it (24 months in Côte-d'Or,
-- ref_delais_anormaux; decided in int_demandes_actives), by wished typology and by first wished
-- commune, one dimension at a time; denominateur = active demands.
with

demandes as (
    select * from {{ ref('int_demandes_actives') }}
    {{ annee_filter() }}
),

fin_de_periode as (
    select
        annee,
        date_situation,
        coalesce(typologie, 'INCONNUE')                                           as typologie,
        coalesce(commune, 'INCONNUE')                                             as commune,
        est_delai_anormal
    from demandes
    where est_fin_de_periode
),

comptes as (
    select
        annee,
        date_situation,
        case when grouping(typologie) = 1 then 'TOTAL' else typologie end         as typologie,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        count(*) filter (where est_delai_anormal)                                 as numerateur,
        count(*)                                                                  as denominateur,
        -- the délai of the EPCI is missing from the referential: not computable, not zero
        count(est_delai_anormal)                                                  as decidees
    from fin_de_periode
    group by grouping sets ((annee, date_situation), (annee, date_situation, typologie),
                           (annee, date_situation, commune))
),

final as (
    select
        annee,
        typologie,
        commune,
        case when decidees = denominateur then numerateur end                     as numerateur,
        denominateur,
        case when decidees = denominateur then {{ taux('numerateur', 'denominateur') }} end as valeur,
        {{ source_fichier_partage('date_situation') }}                            as source
    from comptes
)

select * from final
