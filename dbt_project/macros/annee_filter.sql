{#- The years a run builds: OBSERVATOIRE_ANNEE_MIN..OBSERVATOIRE_ANNEE_MAX, set by Dagster for each dbt
    invocation (default: the vars annee_min / annee_max of dbt_project.yml, every year). They are
    read from the environment, not passed with --vars, and only when the model runs (the callers are
    inside is_incremental(), false while parsing): a run for another year changes nothing dbt parses,
    so the project is parsed once and every later invocation parses only what changed. -#}
{% macro annee_min() -%}
    {{ env_var('OBSERVATOIRE_ANNEE_MIN', var('annee_min') | string) | int }}
{%- endmacro %}

{% macro annee_max() -%}
    {{ env_var('OBSERVATOIRE_ANNEE_MAX', var('annee_max') | string) | int }}
{%- endmacro %}

{#- On an incremental build, keep only the years of the run; a full build takes every year present. -#}
{% macro annee_filter(column='annee') -%}
    {%- if is_incremental() -%}
    where {{ column }} between {{ annee_min() }} and {{ annee_max() }}
    {%- endif -%}
{%- endmacro %}

{#- The month of a monthly dashboard run: OBSERVATOIRE_MOIS_MAX (AAAA-MM), set by the dashboard's asset
    (pipeline/assets/tableau_de_bord.py) for its dbt invocation only. The monthly extracts after that
    month are left out of staging, so every mart of its year counts the year to date; unset (every
    other run), every month ingested. Read when the model runs (`execute`), not while dbt parses: a
    variable read while parsing is recorded, and its file parsed again whenever the value changes. -#}
{% macro mois_filter() -%}
    {%- set mois_max = env_var('OBSERVATOIRE_MOIS_MAX', '') if execute else '' -%}
    {%- if mois_max -%}
    where annee * 100 + mois <= {{ mois_max[:4] | int * 100 + mois_max[5:7] | int }}
    {%- endif -%}
{%- endmacro %}
