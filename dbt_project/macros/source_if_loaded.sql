{#- A raw table that dlt creates only when its first rows arrive (a journal with no changes yet,
    an account without corporate customers or carts): select from the source when the table
    exists, else from an empty relation with the given columns, so staging builds either way.
    `source()` is called in both cases so lineage (and the Dagster dependency) stays. -#}
{% macro source_if_loaded(source_name, table_name, columns) -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- if execute and adapter.get_relation(database=rel.database, schema=rel.schema, identifier=rel.identifier) -%}
        {{ rel }}
    {%- else -%}
        (select {% for name, type in columns.items() %}cast(null as {{ type }}) as {{ adapter.quote(name) }}{{ ", " if not loop.last }}{% endfor %} where false)
    {%- endif -%}
{%- endmacro %}
