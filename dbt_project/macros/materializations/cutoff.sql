{#- Early cutoff: a table or incremental model whose inputs are what they were at its last build
    is not built again; it keeps its table, and dbt reports it as `KEPT`.

    Why: a daily build after a change in one system rewrites the union slices of that system, and
    everything downstream used to be rebuilt whether or not what it reads moved. When the e-mail
    platforms only echo back the lists our own sync wrote, the identity chain reads none of it, yet
    it was rebuilt (most of a 278 s dbt step at 1 M people); on a day with no new data, only the
    models that read the date need building. Build systems call this an early cutoff: a step whose
    inputs hold the same content as last time is not run, and a step rebuilt to the same content
    does not make its dependants run.

    A model's inputs are its compiled code, config and columns; the project's code (every macro,
    `cdp/`, the variables, the package versions: one digest from the orchestrator); "today" when its
    code reads the clock; and the content of each thing it reads:
    - a source: the raw table's row count and order-free content hash the orchestrator computed
      for the build fingerprint (orchestration/build_inputs.py), or "absent";
    - a seed: its file's checksum;
    - a view (staging): its own file, config and clock reading, and the content of what it reads,
      followed down to the sources;
    - a table or incremental model: the content digest recorded when it was last built (its row
      count and the sum of a hash of each row).

    Each build of such a model records (inputs, content) in `ops.dbt_model_digests` (one row per
    build, the newest per model counts; the orchestrator creates the table and prunes old rows).
    A model is kept only when the newest record's inputs equal the current ones and its table
    exists. The record is withdrawn before a model is built, so a build that stops halfway leaves
    no record claiming content the table may not have.

    The orchestrator turns this on with the environment variable CDP_DBT_CUTOFF (a JSON object:
    code, today, sources, keep) for a whole build; it is read only when a model runs, so it never
    costs a re-parse. Without it (a `dbt build` by hand, a subset run) every model is built and its
    record withdrawn. `keep: false` (a run tagged `cdp/rebuild=always`) builds everything but
    still records. Never kept: a `--full-refresh`; a model configured `cdp_cutoff: false`; a model
    whose code reads what dbt's graph does not know: files (the identity state folder) or a table
    read by name, which a macro marks with `/* cdp: reads outside the dbt graph */` (the tables
    the activation engine writes, read by the lift marts: macros/activation/activation_table.sql). -#}

{% materialization table, adapter='duckdb', supported_languages=['sql', 'python'] %}
    {#- call_macro keeps this macro off the call stack, which dbt checks before it runs a Python model -#}
    {{ return(cutoff_materialize.call_macro(dbt.materialization_table_duckdb)) }}
{% endmaterialization %}

{% materialization incremental, adapter='duckdb', supported_languages=['sql', 'python'] %}
    {{ return(cutoff_materialize.call_macro(dbt.materialization_incremental_duckdb)) }}
{% endmaterialization %}


{% macro cutoff_materialize(build) %}
    {%- set settings = cutoff_settings() -%}
    {#- Asked with run_query, which opens no transaction: adapter.get_relation would, and a Python
        model writes its table on another cursor, which a transaction opened before it cannot see. -#}
    {%- set logged = run_query("select count(*) from information_schema.tables where table_catalog = current_database() "
                               "and table_schema = 'ops' and table_name = 'dbt_model_digests'").columns[0].values()[0] > 0 -%}
    {%- set inputs = none -%}
    {%- if settings is not none and logged -%}
        {%- set records = cutoff_records() -%}
        {%- if not should_full_refresh() and config.get('cdp_cutoff', true) and not cutoff_reads_outside(compiled_code) -%}
            {%- set inputs = cutoff_inputs(settings, records) -%}
        {%- endif -%}
        {%- set last = records.get(model.unique_id) -%}
        {%- if settings.get('keep', true) and inputs is not none and last and last.inputs == inputs
              and last.content is not none and load_cached_relation(this) is not none -%}
            {{ log("KEPT " ~ this ~ ": its inputs are those of its last build", info=false) }}
            {%- do store_raw_result('main', message='KEPT', code='KEPT', rows_affected=0) -%}
            {{ return({'relations': [this.incorporate(type='table')]}) }}
        {%- endif -%}
    {%- endif -%}
    {%- if logged -%}
        {%- do run_query(cutoff_record_sql(none, none)) -%}
    {%- endif -%}
    {%- set relations = build.call_macro() -%}
    {%- if settings is not none and logged -%}
        {%- set content = run_query("select count(*)::varchar || ':' || coalesce(sum(hash(t)::hugeint), 0)::varchar from " ~ this ~ " t").columns[0].values()[0] -%}
        {%- do run_query(cutoff_record_sql(inputs, content)) -%}
    {%- endif -%}
    {{ return(relations) }}
{% endmacro %}


{% macro cutoff_settings() %}
    {%- set listed = env_var('CDP_DBT_CUTOFF', '') -%}
    {{ return(fromjson(listed) if listed else none) }}
{% endmacro %}


{#- The newest record of every model: {unique_id: {inputs, content}}. -#}
{% macro cutoff_records() %}
    {%- set found = run_query("select node, inputs_digest, content_digest from ops.dbt_model_digests "
                              "qualify row_number() over (partition by node order by seq desc) = 1") -%}
    {%- set records = {} -%}
    {%- for row in found.rows -%}
        {%- do records.update({row[0]: {'inputs': row[1], 'content': row[2]}}) -%}
    {%- endfor -%}
    {{ return(records) }}
{% endmacro %}


{% macro cutoff_record_sql(inputs, content) -%}
    insert into ops.dbt_model_digests (node, inputs_digest, content_digest, invocation_id)
    values ('{{ model.unique_id }}', {{ "'" ~ inputs ~ "'" if inputs else 'null' }},
            {{ "'" ~ content ~ "'" if content else 'null' }}, '{{ invocation_id }}')
{%- endmacro %}


{#- Code that asks for the date or the time: its output moves with the day even on the same rows.
    `as_of_date()` renders to now() unless the settings fix the date. -#}
{% macro cutoff_reads_clock(code) %}
    {%- set code = code | lower -%}
    {%- for word in ['now()', 'current_date', 'current_timestamp', 'today()', 'as_of_date(', 'get_current_time'] -%}
        {%- if word in code -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}


{% macro cutoff_reads_outside(code) %}
    {%- set code = code | lower -%}
    {%- for word in ['cdp: reads outside the dbt graph', 'read_parquet', 'read_csv', 'read_json', 'read_text',
                     'read_blob', 'open('] -%}
        {%- if word in code -%}{{ return(true) }}{%- endif -%}
    {%- endfor -%}
    {{ return(false) }}
{% endmacro %}


{#- This model's inputs as one digest, or none when one of them is unknown (never kept then). -#}
{% macro cutoff_inputs(settings, records) %}
    {%- set own = [settings.get('code'), model.checksum.checksum, tojson(model.config, sort_keys=true),
                   tojson(model.columns, sort_keys=true), local_md5(compiled_code)] -%}
    {{ return(cutoff_digest(own, compiled_code, model.depends_on.nodes, settings, records)) }}
{% endmacro %}


{#- A node's own parts, "today" when `code` reads the clock, and the content of each parent, as one
    digest; none when a parent's content is unknown. -#}
{% macro cutoff_digest(own, code, parents, settings, records) %}
    {%- set parts = own -%}
    {%- if cutoff_reads_clock(code) -%}
        {%- do parts.append('today=' ~ settings.get('today')) -%}
    {%- endif -%}
    {%- for uid in parents | sort -%}
        {%- set state = cutoff_content(uid, settings, records) -%}
        {%- if state is none -%}{{ return(none) }}{%- endif -%}
        {%- do parts.append(uid ~ '=' ~ state) -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('\n'))) }}
{% endmacro %}


{#- The content of something a model reads, as a string that changes when the content does, or
    none when it is unknown. -#}
{% macro cutoff_content(uid, settings, records) %}
    {%- if uid in graph.sources -%}
        {{ return(settings.get('sources', {}).get(uid)) }}
    {%- endif -%}
    {%- set node = graph.nodes.get(uid) -%}
    {%- if node is none -%}
        {{ return(none) }}
    {%- elif node.resource_type == 'seed' -%}
        {{ return('seed:' ~ node.checksum.checksum) }}
    {%- elif node.config.materialized in ('view', 'ephemeral') -%}
        {%- set own = ['view', node.checksum.checksum, tojson(node.config, sort_keys=true)] -%}
        {{ return(cutoff_digest(own, node.raw_code, node.depends_on.nodes, settings, records)) }}
    {%- else -%}
        {%- set last = records.get(uid) -%}
        {{ return(last.content if last else none) }}
    {%- endif -%}
{% endmacro %}
