{#- The published columns of an objective (indicators.md, sections A and E). -#}

{#- A ratio as a fraction 0–1; null (not 0) when there is nothing to divide. -#}
{% macro taux(numerateur, denominateur) -%}
    case when {{ denominateur }} > 0 then cast({{ numerateur }} as double) / {{ denominateur }} end
{%- endmacro %}

{#- The gap, « reste à faire »: max(0, ceil(cible × denominateur) − numerateur). The product is taken
    in decimals: in binary floating point 0,3 × 10 is 3.0000000000000004, whose ceiling would be 4. -#}
{% macro ecart(cible, numerateur, denominateur) -%}
    cast(greatest(0, ceil(cast({{ cible }} as decimal(9, 4)) * {{ denominateur }}) - {{ numerateur }}) as integer)
{%- endmacro %}

{# The two quartile objectives' year situation: `situations` (date of the latest CALEOL; raison when the
   year's Q1 is absent, or marked demo on real data — the objective is « non renseigné ») and
   `constats` (what the extract does not let the QPV rule see, int_qpv_constats), as CTEs of a `with`
   that reads `attributions`. raison_quartiles() is the published raison built from them. #}
{% macro situations_quartiles() %}
situations as (
    select
        annee,
        max(date_cal)                                                        as date_situation,
        max(raison_quartile)                                                 as raison
    from attributions
    group by annee
),

constats as (
    select annee, string_agg(raison, ' ; ' order by raison) as raison
    from {{ ref('int_qpv_constats') }}
    group by annee
),
{% endmacro %}

{% macro raison_quartiles() %}
        case when situations.raison is not null
            then 'non renseigné : ' || situations.raison || coalesce(' ; ' || constats.raison, '')
            else constats.raison end
{%- endmacro %}
