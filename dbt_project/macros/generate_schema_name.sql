{#- Schemas are named by layer (staging, intermediate, marts, ...), not prefixed by the target:
    an analyst looks for `marts.customer_360`, whatever environment built it. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
