-- The « bas loyer » rule of the CIA, decided once for every let dwelling of every RPLS millésime
-- (indicators.md, indicator 4; data-contract.md: rent per m² = LOYERPRINC / SURFMODE, « bas loyer » =
-- below the PLAI rent ceiling of the year): a millésime M (rents on 1 January M) is compared with the
-- PLAI ceiling of year M − 1 (ref_loyers_plafonds): the 2021 millésime with the 2020 ceiling,
-- 5,10 €/m². A year without its ceiling leaves est_bas_loyer null (never compared with another
-- year's). Read by diag_bas_loyers and diag_residences.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
),

plafonds as (
    select * from {{ ref('ref_loyers_plafonds') }}
    where produit = 'PLAI'
),

final as (
    select
        logements.annee,
        logements.logement_id,
        logements.code_insee,
        logements.est_qpv,
        logements.residence_id,
        logements.loyer_m2,
        plafonds.loyer_m2                                                         as plafond_loyer_m2,
        plafonds.annee                                                            as annee_plafond,
        logements.loyer_m2 < plafonds.loyer_m2                                    as est_bas_loyer
    from logements
    left join plafonds on plafonds.annee = logements.annee - 1
    -- let dwellings with a rent: the base of the rent tables (MODE 1)
    where logements.est_loue and logements.loyer_m2 is not null
)

select * from final
