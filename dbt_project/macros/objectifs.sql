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
