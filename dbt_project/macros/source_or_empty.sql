{#- The relation of a raw source, or — when that source has not been ingested yet — an empty table
    with the columns and types declared for it in models/staging/_raw__sources.yml.

    Extracts arrive at different dates and none is required: a staging view over a source not
    yet ingested must still build (empty), so that the run computes what the other sources allow and
    the indicators of the missing one read « non renseigné » instead of failing the whole run. -#}
{% macro source_or_empty(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if not execute -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema,
                                            identifier=relation.identifier) -%}
    {%- if existing is not none -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
                   | selectattr('name', 'equalto', table_name) | first -%}
    {%- set columns = node.columns.values() | list -%}
    {%- if not columns -%}
        {{- exceptions.raise_compiler_error(
            "source " ~ source_name ~ "." ~ table_name ~ " is absent from the warehouse and declares no "
            ~ "columns in models/staging/_raw__sources.yml: declare them (name, data_type) so that an "
            ~ "empty table can stand in for it") -}}
    {%- endif -%}
    {{- log("source " ~ source_name ~ "." ~ table_name ~ " absente de l'entrepôt (pas encore ingérée) : "
            ~ model.name ~ " est vide, ses indicateurs « non renseigné ».", info=True) -}}
    {%- set casts = [] -%}
    {%- for column in columns -%}
        {%- do casts.append("cast(null as " ~ column.data_type ~ ") as " ~ adapter.quote(column.name)) -%}
    {%- endfor -%}
    {{- return("(select " ~ casts | join(", ") ~ " where false)") -}}
{%- endmacro %}
