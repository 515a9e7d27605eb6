{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Loyers » (indicators.md, section C and indicator 4): let dwellings (RPLS MODE 1, with
-- a rent) whose rent per m² is strictly below the PLAI rent ceiling — the CIA's « bas loyer » — by
-- commune and in / hors QPV, with totals; denominateur = let dwellings with a rent. Millésime M
-- (rents on 1 January M) is compared with the ceiling of year M − 1 (ref_loyers_plafonds): the 2021
-- millésime with the 2020 ceiling, 5,10 €/m². A year without its ceiling is not computed (null),
-- never compared with another year's.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

plafonds as (
    select * from {{ ref('ref_loyers_plafonds') }}
    where produit = 'PLAI'
),

loues as (
    select
        logements.annee,
        logements.code_insee                                                      as commune,
        {{ qpv_en_hors('logements.est_qpv') }}                                    as qpv,
        logements.loyer_m2 < plafonds.loyer_m2                                    as bas_loyer,
        plafonds.loyer_m2                                                         as plafond_loyer_m2,
        plafonds.annee                                                            as annee_plafond
    from logements
    left join plafonds on plafonds.annee = logements.annee - 1
    where logements.est_loue and logements.loyer_m2 is not null
),

comptes as (
    select
        annee,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                     as qpv,
        count(*) filter (where bas_loyer)                                         as numerateur,
        count(*)                                                                  as denominateur,
        any_value(plafond_loyer_m2)                                               as plafond_loyer_m2
    from loues
    group by annee, cube (commune, qpv)
),

final as (
    select
        annee,
        commune,
        qpv,
        case when plafond_loyer_m2 is not null then numerateur end                as numerateur,
        denominateur,
        case when plafond_loyer_m2 is not null
            then {{ taux('numerateur', 'denominateur') }} end                     as valeur,
        plafond_loyer_m2,
        'RPLS ' || annee                                                          as source
    from comptes
)

select * from final
