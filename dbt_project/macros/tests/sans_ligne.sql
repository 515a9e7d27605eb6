{#- Generic test: the model has no row. For a model that lists findings (int_qpv_constats): each row
    is one, and the test (severity warn) puts it in the run's data-quality controls. -#}
{% test sans_ligne(model) %}
select * from {{ model }}
{% endtest %}
