{#- Where the identity state (customer id registry and its event history) is kept: CDP_STATE_DIR,
    or `state/` beside the DuckDB file. Orchestration always sets CDP_STATE_DIR explicitly; the
    fallback is for someone running dbt by hand. -#}
{% macro identity_state_dir() -%}
    {%- set configured = env_var('CDP_STATE_DIR', '') -%}
    {%- if configured -%}
        {{ configured }}
    {%- elif '/' in target.path -%}
        {{ target.path.rsplit('/', 1)[0] }}/state
    {%- else -%}
        state
    {%- endif -%}
{%- endmacro %}
