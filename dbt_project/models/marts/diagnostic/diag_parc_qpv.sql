{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Parc » by quartier prioritaire (indicators.md, section C; the fiches QPV of the atlas):
-- dwellings of the parc social on 1 January (RPLS millésime) by QPV (the RPLS dwelling's QPV code;
-- HORS_QPV) and bailleur, with the totals; denominateur = the dwellings of the QPV (all bailleurs), so
-- that numerateur / denominateur is a bailleur's share of the quartier's parc.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

comptes as (
    select
        annee,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                     as qpv,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end           as bailleur,
        count(*)                                                                  as logements
    from (
        select
            annee,
            case when est_qpv then coalesce(code_qpv, 'QPV_INCONNU') else 'HORS_QPV' end as qpv,
            -- the public RPLS layouts carry no bailleur (restricted extension only)
            coalesce(bailleur, 'INCONNU')                                         as bailleur
        from logements
    )
    group by annee, cube (qpv, bailleur)
),

final as (
    select
        comptes.annee,
        comptes.qpv,
        comptes.bailleur,
        comptes.logements                                                         as numerateur,
        du_qpv.logements                                                          as denominateur,
        {{ taux('comptes.logements', 'du_qpv.logements') }}                       as valeur,
        'RPLS ' || comptes.annee                                                  as source
    from comptes
    join comptes as du_qpv
        on du_qpv.annee = comptes.annee
        and du_qpv.qpv = comptes.qpv
        and du_qpv.bailleur = 'TOTAL'
)

select * from final
