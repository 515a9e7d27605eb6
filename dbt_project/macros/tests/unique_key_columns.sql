{#- Generic test: the combination of `columns` identifies one row (no dbt_utils: no hub here). -#}
{% test unique_key_columns(model, columns) %}
select {{ columns | join(', ') }}, count(*) as lignes
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
