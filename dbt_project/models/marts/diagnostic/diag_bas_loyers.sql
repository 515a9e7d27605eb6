{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Loyers » (indicators.md, section C and indicator 4): let dwellings (RPLS MODE 1, with
-- a rent) whose rent per m² is strictly below the PLAI rent ceiling — the CIA's « bas loyer » — by
-- commune and in / hors QPV, with totals; denominateur = let dwellings whose rent per m² of surface
-- utile is known; logements_exclus = let dwellings with a rent left out of the comparison (rent set
-- on another surface, or no surface). The rule (which ceiling, which rent, which surface) is
-- int_logements_loyers'; a year without its ceiling is not computed (null).
with

loues as (
    select
        annee,
        code_insee                                                                as commune,
        {{ qpv_en_hors('est_qpv') }}                                              as qpv,
        est_bas_loyer                                                             as bas_loyer,
        loyer_m2,
        plafond_loyer_m2,
        annee_plafond
    from {{ ref('int_logements_loyers') }}
    {{ annee_filter() }}
),

comptes as (
    select
        annee,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                     as qpv,
        count(*) filter (where bas_loyer)                                         as numerateur,
        count(*) filter (where loyer_m2 is not null)                              as denominateur,
        count(*) filter (where loyer_m2 is null)                                  as logements_exclus,
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
        logements_exclus,
        'RPLS ' || annee                                                          as source
    from comptes
)

select * from final
