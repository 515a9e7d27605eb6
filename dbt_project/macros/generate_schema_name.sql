{#- Schemas are named as the layers (staging, intermediate, marts, referentiels), not prefixed
    with the target schema: the warehouse has one user, and the readers look for these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
