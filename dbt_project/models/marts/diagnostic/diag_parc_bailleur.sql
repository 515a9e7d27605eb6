{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Parc » (indicators.md, section C): dwellings of the parc social on 1 January (RPLS
-- millésime) by bailleur, in / hors QPV and typology (T1 … T6, T6 = 6 rooms and more), every
-- combination with its totals (TOTAL); denominateur = the bailleur's dwellings (all QPV, all
-- typologies), so that numerateur / denominateur is the row's share of the bailleur's parc.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

comptes as (
    select
        annee,
        case when grouping(bailleur) = 1 then 'TOTAL' else bailleur end           as bailleur,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                     as qpv,
        case when grouping(typologie) = 1 then 'TOTAL' else typologie end         as typologie,
        count(*)                                                                  as logements
    from (
        select
            annee,
            -- the public RPLS layouts carry no bailleur (restricted extension only)
            coalesce(bailleur, 'INCONNU')                                         as bailleur,
            {{ qpv_en_hors('est_qpv') }}                                          as qpv,
            coalesce(typologie, 'INCONNUE')                                       as typologie
        from logements
    )
    group by annee, cube (bailleur, qpv, typologie)
),

final as (
    select
        comptes.annee,
        comptes.bailleur,
        comptes.qpv,
        comptes.typologie,
        comptes.logements                                                         as numerateur,
        du_bailleur.logements                                                     as denominateur,
        comptes.logements                                                         as valeur,
        'RPLS ' || comptes.annee                                                  as source
    from comptes
    join comptes as du_bailleur
        on du_bailleur.annee = comptes.annee
        and du_bailleur.bailleur = comptes.bailleur
        and du_bailleur.qpv = 'TOTAL'
        and du_bailleur.typologie = 'TOTAL'
)

select * from final
