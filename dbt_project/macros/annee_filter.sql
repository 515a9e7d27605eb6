{#- On an incremental build, keep only the years of the run (vars annee_min..annee_max);
    a full build takes every year present. -#}
{% macro annee_filter(column='annee') -%}
    {%- if is_incremental() -%}
    where {{ column }} between {{ var('annee_min') }} and {{ var('annee_max') }}
    {%- endif -%}
{%- endmacro %}
