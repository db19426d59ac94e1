{#- The date segments are evaluated on: the RFM as-of date (dbt var rfm_as_of, default the latest
    order), so a replayed or demo dataset segments as of its own "today". -#}
{% macro segment_as_of() -%}
    (select max(as_of_date) from {{ ref('rfm') }})
{%- endmacro %}
