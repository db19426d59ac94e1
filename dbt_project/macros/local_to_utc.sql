{#- Text 'Y-m-d H:i:s' in a named zone -> UTC timestamp. Unparseable text becomes null (staging flags it). -#}
{% macro local_to_utc(column, tz) -%}
    (timezone('UTC', timezone('{{ tz }}', try_cast({{ column }} as timestamp))))
{%- endmacro %}
