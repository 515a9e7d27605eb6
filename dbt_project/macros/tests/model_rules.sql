{#- Generic test: a model's rules in one query — the columns it must fill (`not_null`), those it must
    fill where a condition holds (`not_null_where`: column → SQL condition, what dbt's not_null with a
    `where` does: a figure or the reason it is missing), the columns that identify a row (`key`) and
    the closed lists of its columns (`accepted_values`: column → codes, quoted, an empty cell allowed:
    what dbt's accepted_values does). One test per model instead of one per rule: each dbt test is a
    node, dbt's own bookkeeping (≈ 15 ms) whatever its query, and these were ≈ 220 of the marts' nodes.
    A failure lists each broken rule: regle (non_nul, non_nul_si, cle_unique, valeur_admise), colonne
    (with its condition for non_nul_si), valeur (the repeated key, the unknown code) and its count of
    rows. -#}
{% test model_rules(model, not_null=[], key=[], accepted_values={}, not_null_where={}) %}
{%- set parties = [] -%}
{%- if not_null_where -%}
{%- set requete -%}
select 'non_nul_si' as regle, colonne, cast(null as varchar) as valeur, lignes
from (
    select
        {%- for column, condition in not_null_where.items() %}
        count(*) filter (where ({{ condition }}) and {{ column }} is null) as "{{ column }} si {{ condition | replace('"', '') }}"{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
) unpivot (lignes for colonne in (
    {%- for column, condition in not_null_where.items() %}"{{ column }} si {{ condition | replace('"', '') }}"{{ ", " if not loop.last }}{% endfor -%}))
where lignes > 0
{%- endset -%}
{%- do parties.append(requete) -%}
{%- endif -%}
{%- if not_null -%}
{%- set requete -%}
select 'non_nul' as regle, colonne, cast(null as varchar) as valeur, lignes
from (
    select
        {%- for column in not_null %}
        count(*) filter (where {{ column }} is null) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
) unpivot (lignes for colonne in ({{ not_null | join(', ') }}))
where lignes > 0
{%- endset -%}
{%- do parties.append(requete) -%}
{%- endif -%}
{%- if key -%}
{%- set requete -%}
select 'cle_unique' as regle, '{{ key | join(", ") }}' as colonne,
    concat_ws(' ; ', {% for column in key %}coalesce(cast({{ column }} as varchar), ''){{ ", " if not loop.last }}{% endfor %}) as valeur,
    count(*) as lignes
from {{ model }}
group by {{ key | join(', ') }}
having count(*) > 1
{%- endset -%}
{%- do parties.append(requete) -%}
{%- endif -%}
{%- for column, values in accepted_values.items() -%}
{%- set requete -%}
select 'valeur_admise' as regle, '{{ column }}' as colonne, cast({{ column }} as varchar) as valeur, count(*) as lignes
from {{ model }}
where {{ column }} not in (
    {%- for value in values %}'{{ value | string | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%})
group by {{ column }}
{%- endset -%}
{%- do parties.append(requete) -%}
{%- endfor -%}
{{ parties | join("\nunion all\n") if parties else "select 1 as lignes where false" }}
{% endtest %}
