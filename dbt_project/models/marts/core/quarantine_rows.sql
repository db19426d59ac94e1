-- Grain: one row per input row (or file) a connector refused, from every source that has any.
{#- Every source whose _sources.yml declares a quarantine table; add new systems here. -#}
{%- set sources = ['retailcrm', 'spreadsheets', 'unisender', 'amocrm', 'bitrix24', 'sendsay', 'onec', 'commerceml'] %}
{%- set existing = [] %}
{%- for s in sources %}
    {%- if execute and adapter.get_relation(database=target.database, schema='raw_' ~ s, identifier='quarantine') %}
        {%- do existing.append(s) %}
    {%- endif %}
{%- endfor %}
{%- if existing %}
{%- for s in existing %}
select
    cast(quarantine_id as varchar) as quarantine_id,
    cast(source as varchar) as source_system,
    cast(position as varchar) as position,
    cast(reason as varchar) as reason,
    cast(payload as varchar) as payload,
    cast(quarantined_at as timestamp) as quarantined_at
from {{ source(s, 'quarantine') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- else %}
select
    cast(null as varchar) as quarantine_id, cast(null as varchar) as source_system,
    cast(null as varchar) as position, cast(null as varchar) as reason,
    cast(null as varchar) as payload, cast(null as timestamp) as quarantined_at
where false
{%- endif %}
