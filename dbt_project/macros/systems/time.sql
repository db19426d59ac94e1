{#- Time zones: a timestamp without an offset is wall-clock time in its system's zone (the
    system's `timezone` in the business configuration, else the business time zone). Dates are
    never given a zone: a date-only value stays that date. -#}
{% macro system_timezone(system) -%}
    {%- set decl = var('cdp_systems', {}).get(system, {}) -%}
    {{- decl.get('timezone') or var('business_timezone', 'Europe/Moscow') -}}
{%- endmacro %}

{#- Wall-clock text or timestamp in the system's zone -> UTC timestamp; unparseable -> null. -#}
{% macro local_to_utc(column, system) -%}
    (timezone('UTC', timezone('{{ system_timezone(system) }}', try_cast({{ column }} as timestamp))))
{%- endmacro %}

{#- The business-local calendar date of a UTC timestamp (for recency, windows, monthly grains). -#}
{% macro business_date(utc_column) -%}
    cast(timezone('{{ var('business_timezone', 'Europe/Moscow') }}', timezone('UTC', {{ utc_column }})) as date)
{%- endmacro %}

{#- "Today" for RFM and segments: var rfm_as_of (a date), or 'latest_order' for replayed data,
    else today's date in the business time zone. -#}
{% macro as_of_date() -%}
    {%- set as_of = var('rfm_as_of', none) -%}
    {%- if as_of == 'latest_order' -%}
        (select max(ordered_date) from {{ ref('fct_orders') }} where is_completed)
    {%- elif as_of -%}
        cast('{{ as_of }}' as date)
    {%- else -%}
        cast(timezone('{{ var('business_timezone', 'Europe/Moscow') }}', now()) as date)
    {%- endif -%}
{%- endmacro %}
