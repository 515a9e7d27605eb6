{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Parc » (indicators.md, section C): dwellings of the parc social on 1 January (RPLS
-- millésime) by commune, product family (FINAN_CODE → ref_financements), construction period and
-- energy label (DPE), every combination with its totals (TOTAL); denominateur = the commune's
-- dwellings. Beside the counts: the dwellings first let since 2011 (the CIA's « new dwellings since
-- 2011 ») and the commune's SRU status.
with

logements as (
    select * from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

communes as (
    select * from {{ ref('ref_communes') }}
),

decrits as (
    select
        annee,
        code_insee                                                                as commune,
        coalesce(famille_produit, 'INCONNU')                                      as produit,
        case
            when annee_construction is null then 'INCONNUE'
            when annee_construction < 1949 then 'AVANT_1949'
            when annee_construction < 1975 then '1949_1974'
            when annee_construction < 1990 then '1975_1989'
            when annee_construction < 2000 then '1990_1999'
            when annee_construction < 2011 then '2000_2010'
            else 'DEPUIS_2011'
        end                                                                       as periode_construction,
        case when dpe_energie in ('A', 'B', 'C', 'D', 'E', 'F', 'G') then dpe_energie
            else 'NON_RENSEIGNE' end                                              as dpe,
        -- « mis en service » = first let (LOCAT)
        annee_premiere_location >= 2011                                           as depuis_2011
    from logements
),

comptes as (
    select
        annee,
        case when grouping(commune) = 1 then 'TOTAL' else commune end             as commune,
        case when grouping(produit) = 1 then 'TOTAL' else produit end             as produit,
        case when grouping(periode_construction) = 1 then 'TOTAL'
            else periode_construction end                                         as periode_construction,
        case when grouping(dpe) = 1 then 'TOTAL' else dpe end                     as dpe,
        count(*)                                                                  as logements,
        count(*) filter (where depuis_2011)                                       as logements_depuis_2011
    from decrits
    group by annee, cube (commune, produit, periode_construction, dpe)
),

final as (
    select
        comptes.annee,
        comptes.commune,
        comptes.produit,
        comptes.periode_construction,
        comptes.dpe,
        comptes.logements                                                         as numerateur,
        de_la_commune.logements                                                   as denominateur,
        comptes.logements                                                         as valeur,
        comptes.logements_depuis_2011,
        communes.sru,
        'RPLS ' || comptes.annee                                                  as source
    from comptes
    join comptes as de_la_commune
        on de_la_commune.annee = comptes.annee
        and de_la_commune.commune = comptes.commune
        and de_la_commune.produit = 'TOTAL'
        and de_la_commune.periode_construction = 'TOTAL'
        and de_la_commune.dpe = 'TOTAL'
    left join communes on communes.code_insee = comptes.commune
)

select * from final
