{#- The cross-system unions (int_*_unioned, int_*_raw) are kept per system: a build rewrites only
    the slices of systems whose raw tables changed, so a run after a change in one CRM does not
    copy every mailing platform's ten million events again.

    Which raw tables changed is the orchestrator's to say (orchestration/build_inputs.py compares
    every raw table's content with the last successful build's): it sets the environment variable
    CDP_DBT_CHANGED_RAW_TABLES to a JSON list of `schema.table` for a build in which nothing but
    raw tables (and the calendar date, which staging never reads) changed. Without it (a plain
    `dbt build`, a changed model, macro or setting) every slice is rewritten, which is the table
    the union would be built as. The variable is read only when the model runs, never while dbt
    parses, so it does not cost a re-parse (a changed `--vars` would: about 4 s).

    A slice is a system's rows: `source_system` is the system's name, or for a system whose
    mapping entries are systems of their own (spreadsheets) any name no other enabled system has;
    test_every_union_row_belongs_to_its_systems_slice (tests/assets/test_end_to_end.py) holds the
    staging models to that. -#}

{#- Systems offering `shape` whose slice must be rewritten; none means every one. -#}
{% macro union_stale_systems(shape) -%}
    {%- set listed = env_var('CDP_DBT_CHANGED_RAW_TABLES', '') -%}
    {%- if not listed -%}{{ return(none) }}{%- endif -%}
    {%- set changed = fromjson(listed) -%}
    {%- set stale = [] -%}
    {%- for system in systems_offering(shape) -%}
        {%- if staging_reads_changed('model.' ~ project_name ~ '.stg_' ~ system ~ '__' ~ shape, changed) -%}
            {%- do stale.append(system) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(stale) }}
{%- endmacro %}

{#- Whether a staging model reads, through other staging models, a raw table in `changed`. Anything
    upstream that is neither a source, a seed nor a staging model counts as changed: its content is
    not the raw tables'. -#}
{% macro staging_reads_changed(unique_id, changed) -%}
    {%- set state = {'frontier': [unique_id], 'seen': [], 'changed': false} -%}
    {%- for depth in range(50) if state.frontier and not state.changed -%}
        {%- set next = [] -%}
        {%- for uid in state.frontier if uid not in state.seen -%}
            {%- do state.seen.append(uid) -%}
            {%- if uid in graph.sources -%}
                {%- set source_node = graph.sources[uid] -%}
                {%- if (source_node.schema ~ '.' ~ source_node.identifier) in changed -%}{%- do state.update({'changed': true}) -%}{%- endif -%}
            {%- elif uid in graph.nodes and graph.nodes[uid].resource_type == 'seed' -%}
            {%- elif uid in graph.nodes and graph.nodes[uid].resource_type == 'model' and graph.nodes[uid].name.startswith('stg_') -%}
                {%- do next.extend(graph.nodes[uid].depends_on.nodes) -%}
            {%- else -%}
                {%- do state.update({'changed': true}) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do state.update({'frontier': next}) -%}
    {%- endfor -%}
    {{ return(state.changed) }}
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
