-- One row per household that answered the OPS (indicators.md, section D: the criteria are computed
-- on respondents only), with the facts the occupation measures read. The one rule decided here is
-- « resources below 40 % of the PLUS ceiling »: strictly below seuil × 100 % of the ceiling of the
-- household's category (the OPS gives the percentage, the bailleur applies the category), the
-- threshold read from the referential. The comparison is made in decimals, so a household at exactly
-- 40 % is never counted below by a rounding.
with

ops as (
    select * from {{ ref('stg_ops__logements') }}
),

seuil_ressources as (
    select seuil from {{ ref('ref_seuils_fragilite') }}
    where nature = 'parametre' and critere = 'RESSOURCES'
),

communes as (
    select * from {{ ref('ref_communes') }}
),

final as (
    select
        ops.annee                                                       as annee_enquete,
        ops.logement_id,
        ops.bailleur,
        ops.residence_id,
        -- current COG code, so that series compare across commune mergers (21213 → 21452 in 2019)
        coalesce(communes.code_actuel, ops.code_insee)                  as commune,
        ops.iris,
        ops.code_qpv,
        ops.ressources_pct_plus is not null                             as ressources_connues,
        case
            when ops.ressources_pct_plus is null or seuil_ressources.seuil is null then null
            else cast(ops.ressources_pct_plus as decimal(18, 6))
                 < cast(seuil_ressources.seuil as decimal(18, 6)) * 100
        end                                                             as sous_seuil_ressources,
        ops.emmenage_recent                                             as est_emmenage_recent,
        ops.nb_majeurs,
        ops.nb_majeurs_chomage,
        ops.composition,
        ops.apl                                                         as est_apl
    from ops
    left join seuil_ressources on true
    left join communes on communes.code_insee = ops.code_insee
    where ops.repondant
)

select * from final
