{#- A system's raw table, or zero rows with the columns its source declares when the system has
    never been loaded (enabled but not yet ingested, or disabled): staging then builds either way
    and a business that has only some of our systems never meets "table does not exist".
    `source()` is called in both cases so lineage (and the Dagster dependency) stays. The columns
    and `data_type`s come from the table's entry in `_<system>__sources.yml`: declare there every
    column staging reads. -#}
{% macro raw_table(source_name, table_name) -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- if not execute or model.get('resource_type') == 'unit_test' -%}
        {#- A unit test's given rows stand in for the source. -#}
        {{ rel }}
    {%- elif adapter.get_relation(database=rel.database, schema=rel.schema, identifier=rel.identifier) -%}
        {{ rel }}
    {%- else -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name) | selectattr('name', 'equalto', table_name) | first -%}
        {%- set columns = node.columns.values() | list -%}
        {%- if not columns -%}
            {{ exceptions.raise_compiler_error("source " ~ source_name ~ "." ~ table_name ~ " declares no columns, so it cannot stand in empty before its first load") }}
        {%- endif -%}
        (select {% for c in columns %}cast(null as {{ c.data_type or 'varchar' }}) as {{ adapter.quote(c.name) }}{{ ", " if not loop.last }}{% endfor %} where false)
    {%- endif -%}
{%- endmacro %}
