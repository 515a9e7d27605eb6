{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='annee') }}

-- Diagnostic « Demande et tension » (indicators.md, section C): tension = active demands at the end
-- of the period / attributions prononcées of the last 12 months, in total and by typology, age
-- class, quartile and type of demand (one dimension at a time, the others TOTAL). The end of the
-- period is the year's last snapshot (31 December once the year is complete). The fichier
-- partagé's own ratio (per bail signé) is carried beside it for comparison with its key figures.
with

demandes as (
    select * from {{ ref('int_demandes_actives') }}
    {{ annee_filter() }}
),

-- the 12 months before a January situation reach into the previous year
attributions as (
    select * from {{ ref('int_demandes_attribuees') }}
    {{ annee_filter_avec_precedente() }}
),

-- years whose CALEOL extract is in the warehouse: without it the table is not computed (empty),
-- rather than showing every tension over zero attributions
annees_examens as (
    select distinct annee from {{ ref('stg_sne__attributions') }}
),

situations as (
    select distinct demandes.annee, demandes.date_situation
    from demandes
    join annees_examens on annees_examens.annee = demandes.annee
    where demandes.est_fin_de_periode
),

demandes_fin_de_periode as (
    select
        demandes.annee,
        demandes.date_situation,
        coalesce(demandes.typologie, 'INCONNUE')                                  as typologie,
        demandes.classe_age,
        {{ libelle_quartile('demandes.quartile') }}                               as quartile,
        demandes.type_demande
    from demandes
    join situations
        on situations.annee = demandes.annee
        and situations.date_situation = demandes.date_situation
),

attributions_12_mois as (
    select
        situations.annee,
        situations.date_situation,
        coalesce(attributions.typologie, 'INCONNUE')                              as typologie,
        attributions.classe_age,
        {{ libelle_quartile('attributions.quartile') }}                           as quartile,
        attributions.type_demande,
        attributions.est_bail_signe
    from situations
    join attributions
        on {{ dans_les_12_mois('attributions.date_cal', 'situations.date_situation') }}
),

{% set ensembles = "grouping sets ((annee, date_situation), (annee, date_situation, typologie),
    (annee, date_situation, classe_age), (annee, date_situation, quartile),
    (annee, date_situation, type_demande))" %}
{% set dimensions = ['typologie', 'classe_age', 'quartile', 'type_demande'] %}

comptes_demandes as (
    select
        annee,
        date_situation,
        {%- for dimension in dimensions %}
        case when grouping({{ dimension }}) = 1 then 'TOTAL' else {{ dimension }} end as {{ dimension }},
        {%- endfor %}
        count(*)                                                                  as demandes_actives
    from demandes_fin_de_periode
    group by {{ ensembles }}
),

comptes_attributions as (
    select
        annee,
        date_situation,
        {%- for dimension in dimensions %}
        case when grouping({{ dimension }}) = 1 then 'TOTAL' else {{ dimension }} end as {{ dimension }},
        {%- endfor %}
        count(*)                                                                  as attributions_prononcees,
        count(*) filter (where est_bail_signe)                                    as baux_signes
    from attributions_12_mois
    group by {{ ensembles }}
),

-- a member with demands and no attribution (or the reverse) keeps its row
cellules as (
    select annee, date_situation, {{ dimensions | join(', ') }} from comptes_demandes
    union
    select annee, date_situation, {{ dimensions | join(', ') }} from comptes_attributions
),

final as (
    select
        cellules.annee,
        {%- for dimension in dimensions %}
        cellules.{{ dimension }},
        {%- endfor %}
        coalesce(comptes_demandes.demandes_actives, 0)                            as numerateur,
        coalesce(comptes_attributions.attributions_prononcees, 0)                 as denominateur,
        {{ taux('coalesce(comptes_demandes.demandes_actives, 0)',
                'coalesce(comptes_attributions.attributions_prononcees, 0)') }}   as valeur,
        coalesce(comptes_attributions.baux_signes, 0)                             as baux_signes,
        {{ taux('coalesce(comptes_demandes.demandes_actives, 0)',
                'coalesce(comptes_attributions.baux_signes, 0)') }}               as valeur_par_bail_signe,
        cellules.date_situation,
        {{ source_fichier_partage('cellules.date_situation') }}                   as source
    from cellules
    left join comptes_demandes
        using (annee, date_situation, {{ dimensions | join(', ') }})
    left join comptes_attributions
        using (annee, date_situation, {{ dimensions | join(', ') }})
)

select * from final
