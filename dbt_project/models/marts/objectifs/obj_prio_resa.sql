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
-- PDALHPD / all attributions » in the flux base, read against the 25 % of the law.
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
        count(*)                                                                as denominateur
    from base
    group by grouping sets ((annee, reservataire, bailleur), (annee, reservataire), (annee, bailleur), (annee))
),

final as (
    select
        comptes.annee,
        comptes.reservataire,
        comptes.bailleur,
        comptes.numerateur,
        comptes.denominateur,
        {{ taux('comptes.numerateur', 'comptes.denominateur') }}             as valeur,
        objectifs.cible,
        {{ ecart('objectifs.cible', 'comptes.numerateur', 'comptes.denominateur') }} as ecart,
        {{ source_fichier_partage('situations.date_situation') }}          as source
    from comptes
    join situations on situations.annee = comptes.annee
    left join objectifs
        on objectifs.code = case
            when comptes.reservataire = 'ETAT_PRIORITAIRES' then 'OBJ_PRIO_ETAT'
            else 'OBJ_PRIO_RESA'
        end
)

select * from final
