-- Grain: one row per input row (or file) a connector refused, from every enabled system (each
-- system's connector writes raw_<system>.quarantine; a system not loaded yet contributes nothing).
{%- set systems = var('cdp_systems', {}).keys() | list | sort %}
{%- if systems %}
{%- for system in systems %}
select
    cast(quarantine_id as varchar) as quarantine_id,
    cast(source as varchar) as source_system,
    cast(position as varchar) as position,
    cast(reason as varchar) as reason,
    cast(payload as varchar) as payload,
    cast(quarantined_at as timestamp) as quarantined_at
from {{ raw_table(system, 'quarantine') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
{%- else %}
select
    cast(null as varchar) as quarantine_id, cast(null as varchar) as source_system,
    cast(null as varchar) as position, cast(null as varchar) as reason,
    cast(null as varchar) as payload, cast(null as timestamp) as quarantined_at
where false
{%- endif %}
