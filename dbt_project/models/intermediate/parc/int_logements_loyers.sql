-- The « bas loyer » rule of the CIA, decided once for every let dwelling with a rent of every RPLS
-- millésime (indicators.md, indicator 4; data-contract.md: rent per m² = LOYERPRINC / SURFMODE,
-- « bas loyer » = below the PLAI rent ceiling of the year).
--
-- Like with like. The PLAI ceiling (ref_loyers_plafonds) is in € per m² of surface utile per month;
-- RPLS gives the surface the rent is set on (SURFMODE) and its kind (MODESURF: U utile, C corrigée,
-- H habitable). Only a rent set on surface utile is divided and compared: a surface corrigée belongs
-- to the older rent system, whose ceilings are not per m² of surface utile, and a surface habitable
-- lacks the annexes that surface utile adds (half of them, CCH R.331-10), which RPLS does not give —
-- no conversion is exact, so neither is guessed. Those dwellings keep their row, with loyer_m2 and
-- est_bas_loyer null and the reason in exclusion_loyer (counted by diag_bas_loyers), as do the
-- dwellings without a surface or without its kind.
--
-- The ceiling is that of the rent's own year: a millésime M gives the rents on 1 January M, under the
-- ceilings in force in year M. A year without its ceiling — or, on real data, whose ceiling is marked
-- demo — leaves est_bas_loyer null (never compared with another year's, nor with an invented one). Read by ind_04, diag_bas_loyers and diag_residences.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
),

-- on real data a ceiling marked demo is never used (macros/menages.sql): its year is not judged
plafonds as (
    select * from {{ ref('ref_loyers_plafonds') }}
    where produit = 'PLAI' and {{ valeur_utilisable('source') }}
),

loyers as (
    select
        *,
        case
            when surface_loyer is null or surface_loyer <= 0 then 'surface du loyer absente'
            when mode_surface is null then 'type de surface (MODESURF) absent'
            when mode_surface = 'C' then 'loyer sur surface corrigée'
            when mode_surface = 'H' then 'loyer sur surface habitable'
            when mode_surface <> 'U' then 'type de surface inconnu'
        end                                                                       as exclusion_loyer
    from logements
    -- let dwellings with a rent: the base of the rent tables (MODE 1; 9999 « sans objet » is null)
    where est_loue and loyer_principal is not null
),

final as (
    select
        loyers.annee,
        loyers.logement_id,
        loyers.code_insee,
        loyers.iris,
        loyers.est_qpv,
        loyers.residence_id,
        loyers.loyer_principal,
        loyers.surface_loyer,
        loyers.mode_surface,
        loyers.exclusion_loyer,
        -- € per m² of surface utile per month
        case when loyers.exclusion_loyer is null
            then loyers.loyer_principal / loyers.surface_loyer end               as loyer_m2,
        plafonds.loyer_m2                                                         as plafond_loyer_m2,
        plafonds.annee                                                            as annee_plafond,
        case when loyers.exclusion_loyer is null
            then loyers.loyer_principal / loyers.surface_loyer < plafonds.loyer_m2 end as est_bas_loyer
    from loyers
    left join plafonds on plafonds.annee = loyers.annee
)

select * from final
