{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Indicator 2, « Bilan annuel » (indicators.md, section B): the annual bilan itself — the atlas of
-- the year and its annex of the 28 indicators of section 6.2. One row per indicator (dimension
-- indicateur, ind_01 … ind_28): numerateur = its extracts (catalogue field `source`, seed
-- ref_sources_indicateurs) present in the warehouse for the year, denominateur = its extracts,
-- valeur = 1 when all are there (the indicator is renseigné), else 0 with the missing ones in
-- `raison`. The TOTAL row counts the indicators renseignés. Produced for every RPLS millésime (the
-- one source the atlas requires). Whether an indicator's mart is built yet is the catalogue's
-- `statut`, read by the publication layer, not this table.

{#- The staging view of each ingested source: a year is present when its view has rows. -#}
{%- set vues = {
    'rpls': 'stg_rpls__logements',
    'attributions': 'stg_sne__attributions',
    'demandes': 'stg_sne__demandes',
    'syplo': 'stg_syplo__menages',
    'ops': 'stg_ops__logements',
    'sls': 'stg_sls__residences',
    'sisal': 'stg_sisal__agrements',
    'residences': 'stg_bailleurs__residences',
    'saisie_ind_01': 'stg_saisies__ind_01',
    'saisie_ind_20': 'stg_saisies__ind_20',
    'saisie_ind_21': 'stg_saisies__ind_21',
    'saisie_ind_22': 'stg_saisies__ind_22',
    'saisie_ind_27': 'stg_saisies__ind_27',
} %}

with

annees as (
    select distinct annee from {{ ref('stg_rpls__logements') }}
    {{ annee_filter() }}
),

sources_indicateurs as (
    select * from {{ ref('ref_sources_indicateurs') }}
),

sources_presentes as (
    {%- for source_donnees, vue in vues.items() %}
    select distinct annee, '{{ source_donnees }}' as source_donnees from {{ ref(vue) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

par_indicateur as (
    select
        annees.annee,
        sources_indicateurs.code                                                  as indicateur,
        count(sources_presentes.source_donnees)                                   as presentes,
        count(*)                                                                  as attendues,
        string_agg(sources_indicateurs.source_donnees, ', ' order by sources_indicateurs.source_donnees)
            filter (where sources_presentes.source_donnees is null)               as absentes,
        string_agg(sources_indicateurs.source_donnees, ', ' order by sources_indicateurs.source_donnees)
            filter (where sources_presentes.source_donnees is not null)           as sources
    from annees
    cross join sources_indicateurs
    left join sources_presentes
        on sources_presentes.annee = annees.annee
        and sources_presentes.source_donnees = sources_indicateurs.source_donnees
    group by annees.annee, sources_indicateurs.code
),

indicateurs as (
    select
        annee,
        indicateur,
        presentes                                                                 as numerateur,
        attendues                                                                 as denominateur,
        case when presentes = attendues then 1 else 0 end                         as valeur,
        case when presentes < attendues
            then 'non renseigné : source absente (' || absentes || ')' end        as raison,
        sources
    from par_indicateur
),

final as (
    select
        annee,
        indicateur,
        cast(numerateur as bigint)                                                as numerateur,
        cast(denominateur as bigint)                                              as denominateur,
        cast(valeur as bigint)                                                    as valeur,
        raison,
        'Bilan ' || annee || ' (' || coalesce(sources, 'aucune source') || ')'    as source
    from indicateurs
    union all
    select
        annee,
        'TOTAL',
        cast(sum(valeur) as bigint),
        cast(count(*) as bigint),
        cast(sum(valeur) as bigint),
        null,
        'Bilan ' || annee
    from indicateurs
    group by annee
)

select * from final
