{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 6 of the CIA (section 6.2), « Évolution de l'occupation du parc »: the OPS occupation
-- measures (int_ops_mesures) by commune and by QPV, on the responding households of the survey that
-- stands for the year (int_ops_annees, annee_enquete), with the value of the survey before
-- (annee_precedente, valeur_precedente) and the change in points of share (evolution). A QPV lies in
-- one commune: its rows under the commune and under commune TOTAL are the same households, so that
-- the members of each dimension sum to its TOTAL.
with

annees as (
    select * from {{ ref('int_ops_annees') }}
),

mesures as (
    select
        *,
        coalesce(commune, 'NON_RENSEIGNE')                                 as zone_commune,
        coalesce(code_qpv, 'HORS_QPV')                                     as zone_qpv
    from {{ ref('int_ops_mesures') }}
),

-- one aggregate per survey; a year reads its survey's and the previous survey's
par_enquete as (
    select
        annee_enquete,
        case when grouping(zone_commune) = 1 then 'TOTAL' else zone_commune end as commune,
        case when grouping(zone_qpv) = 1 then 'TOTAL' else zone_qpv end   as qpv,
        mesure,
        sum(numerateur)                                                    as numerateur,
        sum(denominateur)                                                  as denominateur,
        -- every responding household has one row per measure
        count(*)                                                           as nb_menages
    from mesures
    group by grouping sets (
        (annee_enquete, mesure, zone_commune, zone_qpv),
        (annee_enquete, mesure, zone_commune),
        (annee_enquete, mesure, zone_qpv),
        (annee_enquete, mesure)
    )
),

final as (
    select
        annees.annee,
        actuelle.commune,
        actuelle.qpv,
        actuelle.mesure,
        actuelle.numerateur,
        actuelle.denominateur,
        {{ taux('actuelle.numerateur', 'actuelle.denominateur') }}        as valeur,
        actuelle.nb_menages,
        annees.annee_enquete,
        annees.annee_enquete_precedente                                    as annee_precedente,
        precedente.numerateur                                              as numerateur_precedent,
        precedente.denominateur                                            as denominateur_precedent,
        {{ taux('precedente.numerateur', 'precedente.denominateur') }}    as valeur_precedente,
        {{ taux('actuelle.numerateur', 'actuelle.denominateur') }}
            - {{ taux('precedente.numerateur', 'precedente.denominateur') }} as evolution,
        'OPS ' || annees.annee_enquete                                     as source
    from annees
    join par_enquete as actuelle on actuelle.annee_enquete = annees.annee_enquete
    left join par_enquete as precedente
        on precedente.annee_enquete = annees.annee_enquete_precedente
        and precedente.commune = actuelle.commune
        and precedente.qpv = actuelle.qpv
        and precedente.mesure = actuelle.mesure
)

select * from final
{{ annee_filter() }}
