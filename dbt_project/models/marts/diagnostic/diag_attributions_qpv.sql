{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic: the attributions prononcées of the year by the status of the quarter of their dwelling
-- (int_attributions_qualifiees.statut_qpv, from QPV_LOGEMENT and ref_qpv): QPV in force, a quarter the
-- law assimilates to a QPV during a transition period (QPV_ASSIMILE), quartier de veille active (QVA,
-- reported apart — the CIA counts « QPV/QVA » in its fragility figures), a code out of the list at
-- the date of the CALEOL (HORS_LISTE), a code the referential does not know (QPV_HORS_REFERENTIEL),
-- hors QPV; TOTAL. Every status has its row (0 when none); valeur = share of the year's attributions.
with

toutes_attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

attributions as (
    select * from toutes_attributions where est_prononcee
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

statuts as (
    select statut_qpv from (values ('QPV'), ('QPV_ASSIMILE'), ('QVA'), ('HORS_LISTE'),
                                   ('QPV_HORS_REFERENTIEL'), ('HORS_QPV')) as liste (statut_qpv)
),

cellules as (
    select situations.annee, statuts.statut_qpv, count(attributions.annee) as nombre
    from situations
    cross join statuts
    left join attributions
        on attributions.annee = situations.annee
        and attributions.statut_qpv = statuts.statut_qpv
    group by situations.annee, statuts.statut_qpv
),

comptes as (
    select
        annee,
        case when grouping(statut_qpv) = 1 then 'TOTAL' else statut_qpv end         as statut_qpv,
        cast(sum(nombre) as bigint)                                                 as numerateur
    from cellules
    group by grouping sets ((annee, statut_qpv), (annee))
),

final as (
    select
        comptes.annee,
        comptes.statut_qpv,
        comptes.numerateur,
        total.numerateur                                                            as denominateur,
        {{ taux('comptes.numerateur', 'total.numerateur') }}                        as valeur,
        {{ source_fichier_partage('situations.date_situation') }}                   as source
    from comptes
    join comptes as total on total.annee = comptes.annee and total.statut_qpv = 'TOTAL'
    join situations on situations.annee = comptes.annee
)

select * from final
