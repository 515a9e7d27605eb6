{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 19, « Nombre d'attributions en faveur des ménages du 1er quartile » (indicators.md,
-- section B): baux signés of the year to households of the 1st quartile of resources per UC
-- (int_attributions_qualifiees: thresholds of the year of the CALEOL, strict inequality), in and out
-- of QPV (qpv = QPV, HORS_QPV, TOTAL), per bailleur and TOTAL; denominateur = the cell's baux signés.
-- Unlike OBJ_Q1_HORS_QPV, ANRU relogements above the 1st quartile do not count here.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

baux as (
    select *, {{ qpv_en_hors('est_qpv') }} as membre_qpv
    from attributions
    where est_bail_signe
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end             as bailleur,
        case when grouping(membre_qpv) = 1 then 'TOTAL' else membre_qpv end         as qpv,
        -- an unknown quartile is not the 1st
        count(*) filter (where est_q1)                                              as numerateur,
        count(*)                                                                    as denominateur
    from baux
    group by grouping sets ((annee, bailleur, membre_qpv), (annee, bailleur), (annee, membre_qpv), (annee))
),

final as (
    select
        comptes.annee,
        comptes.bailleur,
        comptes.qpv,
        comptes.numerateur,
        comptes.denominateur,
        comptes.numerateur                                                          as valeur,
        {{ source_fichier_partage('situations.date_situation') }}                   as source
    from comptes
    join situations on situations.annee = comptes.annee
)

select * from final
