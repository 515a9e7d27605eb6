{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Ressources » (indicators.md, section C): share of the active demands at the end of
-- the period whose household is below the PLAI resource ceiling, below a third of it, or in the 1st
-- quartile of resources per UC (rules in int_demandes_actives and menages.sql), in total and by
-- family composition; denominateur = active demands. The three tranches overlap (a household below
-- a third of the ceiling is below the ceiling): they are not members summing to a total.
with

demandes as (
    select * from {{ ref('int_demandes_actives') }}
    {{ annee_filter() }}
),

tranches as (
    select
        demandes.annee,
        demandes.date_situation,
        coalesce(demandes.composition, 'INCONNUE')                                as composition,
        membres.tranche_ressources,
        case membres.tranche_ressources
            when 'SOUS_PLAFOND_PLAI' then demandes.sous_plafond_plai
            when 'SOUS_TIERS_PLAFOND_PLAI' then demandes.sous_tiers_plafond_plai
            when 'PREMIER_QUARTILE' then demandes.quartile = 1
        end                                                                       as dans_tranche
    from demandes
    cross join (values ('SOUS_PLAFOND_PLAI'), ('SOUS_TIERS_PLAFOND_PLAI'), ('PREMIER_QUARTILE'))
        as membres (tranche_ressources)
    where demandes.est_fin_de_periode
),

comptes as (
    select
        annee,
        date_situation,
        tranche_ressources,
        case when grouping(composition) = 1 then 'TOTAL' else composition end     as composition,
        count(*) filter (where dans_tranche)                                      as numerateur,
        count(*)                                                                  as denominateur,
        -- a household whose income or ceiling is unknown cannot be placed
        count(dans_tranche)                                                       as decidees
    from tranches
    group by grouping sets ((annee, date_situation, tranche_ressources),
                           (annee, date_situation, tranche_ressources, composition))
),

final as (
    select
        annee,
        tranche_ressources,
        composition,
        case when decidees = denominateur then numerateur end                     as numerateur,
        denominateur,
        case when decidees = denominateur then {{ taux('numerateur', 'denominateur') }} end as valeur,
        {{ source_fichier_partage('date_situation') }}                            as source
    from comptes
)

select * from final
