{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- OBJ_PRIO_RESA (indicators.md, section A): 25 % of the attributions of each réservataire — and of
-- each bailleur on its non-reserved dwellings (NON_RESERVE × bailleur) — go to households reconnus
-- prioritaires (DALO or PDALHPD label). Base: attributions prononcées, refusals included, flux base
-- only. Rows: réservataire × bailleur, réservataire × TOTAL (the scale of the objective for a
-- réservataire), and reservataire = TOTAL.
--
-- The État contingent (ETAT_PRIORITAIRES) is a member of the réservataire dimension with its own
-- target (100 %, OBJ_PRIO_ETAT; the same counts as obj_prio_etat): without it, reservataire = TOTAL
-- would not be the sum of its members (the secondary disclosure rule needs that), and the row
-- TOTAL × bailleur would not be what the CIA's section-A table prints per bailleur — « prioritaires
-- PDALHPD / all attributions » in the flux base.
--
-- A row that gathers several objectives is judged against the sum of its parts (CIA section 4:
-- 100 % on the État contingent, 25 % for each other réservataire and for each bailleur on its
-- non-reserved dwellings, « soit 42,5 % des attributions totales »): its cible is the target of its
-- parts weighted by their attributions, its ecart the SUM of their gaps — one réservataire's surplus
-- does not pay another's gap. The parts: for TOTAL × TOTAL, the scales at which the law judges
-- (each réservataire over every bailleur, NON_RESERVE per bailleur); for NON_RESERVE × TOTAL, the
-- bailleurs' non-reserved dwellings; for TOTAL × bailleur, that bailleur's réservataires.
--
-- DALO households are published apart inside the numerator (dont_dalo, part_dalo): the DALO
-- relogements are the État's first obligation (CCH L441-2-3) and the CIA reports them separately.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

objectifs as (
    select code, cible from {{ ref('ref_objectifs') }}
),

base as (
    select * from attributions
    where est_prononcee and dans_flux
),

comptes as (
    select
        annee,
        case when grouping(reservataire) = 1 then 'TOTAL' else reservataire end as reservataire,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end         as bailleur,
        count(*) filter (where est_prioritaire)                                 as numerateur,
        count(*)                                                                as denominateur,
        count(*) filter (where est_prioritaire and est_dalo)                    as dont_dalo
    from base
    group by grouping sets ((annee, reservataire, bailleur), (annee, reservataire), (annee, bailleur), (annee))
),

-- every row against its own target (the réservataire's, or the État's)
cellules as (
    select
        comptes.*,
        objectifs.cible,
        {{ ecart('objectifs.cible', 'comptes.numerateur', 'comptes.denominateur') }} as ecart
    from comptes
    left join objectifs
        on objectifs.code = case
            when comptes.reservataire = 'ETAT_PRIORITAIRES' then 'OBJ_PRIO_ETAT'
            else 'OBJ_PRIO_RESA'
        end
),

-- the rows that gather several objectives, and the parts of each
parts as (
    select
        ensemble.annee,
        ensemble.reservataire,
        ensemble.bailleur,
        sum(part.cible * part.denominateur) / nullif(sum(part.denominateur), 0)  as cible,
        sum(part.ecart)                                                          as ecart
    from cellules as ensemble
    join cellules as part
        on part.annee = ensemble.annee
        and (
            -- TOTAL × TOTAL: each réservataire over every bailleur, NON_RESERVE per bailleur
            (ensemble.reservataire = 'TOTAL' and ensemble.bailleur = 'TOTAL'
                and ((part.reservataire not in ('TOTAL', 'NON_RESERVE') and part.bailleur = 'TOTAL')
                     or (part.reservataire = 'NON_RESERVE' and part.bailleur <> 'TOTAL')))
            -- NON_RESERVE × TOTAL: each bailleur's non-reserved dwellings
            or (ensemble.reservataire = 'NON_RESERVE' and ensemble.bailleur = 'TOTAL'
                and part.reservataire = 'NON_RESERVE' and part.bailleur <> 'TOTAL')
            -- TOTAL × bailleur: that bailleur's réservataires
            or (ensemble.reservataire = 'TOTAL' and ensemble.bailleur <> 'TOTAL'
                and part.bailleur = ensemble.bailleur and part.reservataire <> 'TOTAL')
        )
    group by ensemble.annee, ensemble.reservataire, ensemble.bailleur
),

final as (
    select
        cellules.annee,
        cellules.reservataire,
        cellules.bailleur,
        cellules.numerateur,
        cellules.denominateur,
        {{ taux('cellules.numerateur', 'cellules.denominateur') }}           as valeur,
        coalesce(parts.cible, cellules.cible)                                as cible,
        cast(coalesce(parts.ecart, cellules.ecart) as integer)               as ecart,
        cellules.dont_dalo,
        {{ taux('cellules.dont_dalo', 'cellules.denominateur') }}            as part_dalo,
        {{ source_fichier_partage('situations.date_situation') }}          as source
    from cellules
    join situations on situations.annee = cellules.annee
    left join parts
        on parts.annee = cellules.annee
        and parts.reservataire = cellules.reservataire
        and parts.bailleur = cellules.bailleur
)

select * from final
