{#- The date segments are evaluated on: the RFM as-of date (business configuration rfm.as_of:
    a date, 'latest_order' for a replayed history, default today in the business time zone). -#}
{% macro segment_as_of() -%}
    (select max(as_of_date) from {{ ref('rfm') }})
{%- endmacro %}
