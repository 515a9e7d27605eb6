{#- Generic test: every listed column is filled. One query per model instead of one test per column
    (a model's columns were guarded by a not_null test each: hundreds of tests, each paying dbt's own
    overhead and, on a view, the view's query). A failure lists each column with its count of empty
    rows. -#}
{% test not_null_columns(model, columns) %}
select colonne, lignes_vides
from (
    select
        {%- for column in columns %}
        count(*) filter (where {{ column }} is null) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ model }}
) unpivot (lignes_vides for colonne in ({{ columns | join(', ') }}))
where lignes_vides > 0
{% endtest %}
