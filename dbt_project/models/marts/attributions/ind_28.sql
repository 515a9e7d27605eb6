{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 28, « Suivi et analyse des motifs de refus » (indicators.md, section B): refusals of the
-- attributions prononcées of the year by motif (MOTIF_REFUS; SANS_REPONSE for an offer left without
-- an answer past the legal delay; INCONNU for a REFUS without motif) × QPV (each QPV code, from
-- QPV_LOGEMENT) / HORS_QPV — « en QPV » as a whole is TOTAL − HORS_QPV, the catalogue's convention — × quartile of
-- the household (Q1…Q4, INCONNU) × porteur de mixité (PORTEUR_MIXITE / NON_PORTEUR_MIXITE /
-- INCONNU), every combination of TOTALs; denominateur = all the refusals of the year.
with

attributions as (
    select * from {{ ref('int_attributions_qualifiees') }}
    {{ annee_filter() }}
),

situations as (
    select annee, max(date_cal) as date_situation from attributions group by annee
),

refus as (
    select
        annee,
        coalesce(motif_refus, 'INCONNU')                                            as motif,
        coalesce(code_qpv, 'HORS_QPV')                                              as qpv,
        {{ libelle_quartile('quartile') }}                                          as quartile,
        case
            when porteur_mixite then 'PORTEUR_MIXITE'
            when not porteur_mixite then 'NON_PORTEUR_MIXITE'
            else 'INCONNU'
        end                                                                         as porteur_mixite
    from attributions
    where est_prononcee and est_refus
),

comptes as (
    select
        annee,
        case when grouping(motif) = 1 then 'TOTAL' else motif end                   as motif,
        case when grouping(qpv) = 1 then 'TOTAL' else qpv end                       as qpv,
        case when grouping(quartile) = 1 then 'TOTAL' else quartile end             as quartile,
        case when grouping(porteur_mixite) = 1 then 'TOTAL' else porteur_mixite end as porteur_mixite,
        count(*)                                                                    as numerateur
    from refus
    group by annee, cube (motif, qpv, quartile, porteur_mixite)
),

final as (
    select
        comptes.annee,
        comptes.motif,
        comptes.qpv,
        comptes.quartile,
        comptes.porteur_mixite,
        comptes.numerateur,
        total.numerateur                                                            as denominateur,
        comptes.numerateur                                                          as valeur,
        {{ source_fichier_partage('situations.date_situation') }}                   as source
    from comptes
    join comptes as total
        on total.annee = comptes.annee
        and total.motif = 'TOTAL' and total.qpv = 'TOTAL'
        and total.quartile = 'TOTAL' and total.porteur_mixite = 'TOTAL'
    join situations on situations.annee = comptes.annee
)

select * from final
