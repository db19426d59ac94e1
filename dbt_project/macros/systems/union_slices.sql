{#- The cross-system unions (int_*_unioned, int_*_raw) are kept per system: a build rewrites only
    the slices of systems whose raw tables changed, so a run after a change in one CRM does not
    copy every mailing platform's ten million events again.

    Which slices changed is the orchestrator's to say (orchestration/build_inputs.py compares every
    raw table's content with the last successful build's, and follows the manifest from each
    staging model to the raw tables it reads: UnchangedReads): it sets the environment variable
    CDP_DBT_STALE_STAGING to a JSON list of the staging models that read a changed raw table, for
    a build in which nothing but raw tables (and the calendar date, which staging never reads)
    changed. Without it (a plain `dbt build`, a changed model, macro or setting) every slice is
    rewritten, which is the table the union would be built as. The variable is read only when the model runs, never while dbt
    parses, so it does not cost a re-parse (a changed `--vars` would: about 4 s).

    A slice is a system's rows: `source_system` is the system's name, or for a system whose
    mapping entries are systems of their own (spreadsheets) any name no other enabled system has;
    test_every_union_row_belongs_to_its_systems_slice (tests/assets/test_end_to_end.py) holds the
    staging models to that. -#}

{#- Systems offering `shape` whose slice must be rewritten; none means every one. -#}
{% macro union_stale_systems(shape) -%}
    {%- set listed = env_var('CDP_DBT_STALE_STAGING', '') -%}
    {%- if not listed -%}{{ return(none) }}{%- endif -%}
    {%- set stale_staging = fromjson(listed) -%}
    {%- set stale = [] -%}
    {%- for system in systems_offering(shape) if ('stg_' ~ system ~ '__' ~ shape) in stale_staging -%}
        {%- do stale.append(system) -%}
    {%- endfor -%}
    {{ return(stale) }}
{%- endmacro %}

{#- The rows of the slices of `systems` in a table whose `column` holds the source system. -#}
{% macro union_slice_predicate(systems, column='source_system') -%}
    {%- set enabled = var('cdp_systems', {}) -%}
    (false
    {%- for system in systems -%}
        {%- if enabled.get(system, {}).get('per_mapping_entry') -%}
            {%- set others = enabled.keys() | reject('equalto', system) | list %}
        or {{ column }} is null or {{ column }} not in ({% for name in others %}'{{ name }}', {% endfor %}'')
        {%- else %}
        or {{ column }} = '{{ system }}'
        {%- endif -%}
    {%- endfor -%})
{%- endmacro %}

{#- The pre-hook of a union: removes the slices about to be written again (all of them without a
    list of changed raw tables). Nothing to do before the first build. -#}
{% macro union_clear_stale(shape) -%}
    {%- if execute and is_incremental() -%}
        {%- set stale = union_stale_systems(shape) -%}
        {%- if stale is none -%}
            delete from {{ this }}
        {%- elif stale -%}
            delete from {{ this }} where {{ union_slice_predicate(stale) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
