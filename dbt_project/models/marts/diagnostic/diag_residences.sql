{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « résidences » (atlas section 9, action 5.10 §3 of the CIA: « les résidences qui disposent
-- de logements adaptés ou à bas loyer »): for every résidence of the year (int_residences), its RPLS
-- dwellings (logements), the adapted dwellings the bailleur declares (logements_adaptes, over its
-- dwellings) and its let dwellings below the PLAI rent ceiling (logements_bas_loyer, over its let
-- dwellings with a rent: int_logements_loyers decides « bas loyer »), with the bailleur's label. One
-- row per résidence × mesure; numerateur = valeur = the count, denominateur = its base. A figure the
-- sources do not give is null, never 0.
with

residences as (
    select * from {{ ref('int_residences') }}
    {{ annee_filter() }}
),

loyers as (
    select
        annee,
        residence_id,
        -- the let dwellings whose rent per m² of surface utile is known (int_logements_loyers)
        count(*) filter (where loyer_m2 is not null)                       as loues,
        count(*) filter (where est_bas_loyer)                              as bas_loyer,
        bool_and(plafond_loyer_m2 is not null)                             as plafond_connu
    from {{ ref('int_logements_loyers') }}
    where residence_id is not null
    group by annee, residence_id
),

mesures as (
    select
        residences.annee,
        residences.bailleur,
        residences.commune,
        coalesce(residences.code_qpv, 'HORS_QPV')                          as qpv,
        residences.residence_id                                            as residence,
        case when residences.label_bas_loyer then 'O'
             when residences.label_bas_loyer is not null then 'N'
             else 'INCONNU' end                                            as label_bas_loyer,
        residences.nb_logements,
        residences.nb_logements_adaptes,
        loyers.loues,
        case when loyers.plafond_connu then loyers.bas_loyer end           as bas_loyer
    from residences
    left join loyers
        on loyers.annee = residences.annee
        and loyers.residence_id = residences.residence_id
),

final as (
    select annee, bailleur, commune, qpv, residence, label_bas_loyer, 'logements' as mesure,
        nb_logements as numerateur, cast(null as bigint) as denominateur, nb_logements as valeur,
        'RPLS ' || annee as source
    from mesures
    union all
    select annee, bailleur, commune, qpv, residence, label_bas_loyer, 'logements_adaptes',
        nb_logements_adaptes, nb_logements, nb_logements_adaptes,
        'Bailleurs (résidences) ' || annee
    from mesures
    union all
    select annee, bailleur, commune, qpv, residence, label_bas_loyer, 'logements_bas_loyer',
        bas_loyer, loues, bas_loyer,
        'RPLS ' || annee
    from mesures
)

select * from final
