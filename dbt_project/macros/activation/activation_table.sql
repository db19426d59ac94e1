{#- A table the activation engine writes (assets/activate/state.py, schema `activation`), or zero
    rows with its columns before the first activation, so the lift marts build on a fresh
    warehouse. Read by name rather than declared as a dbt source: the activation engine runs after
    dbt and reads the segments, so a source would make the Dagster graph a cycle (segments ->
    activation -> lift mart, in one dbt op); the lift of a send is measured on the run after it,
    which a window of days makes no difference to. -#}
{% macro activation_table(name) -%}
    {%- set declared = {
        'segment_assignments': {'run_id': 'varchar', 'segment': 'varchar', 'customer_id': 'varchar',
                                'is_control': 'boolean', 'assigned_at': 'timestamp'},
        'sync_log': {'run_id': 'varchar', 'destination': 'varchar', 'segment': 'varchar', 'target': 'varchar',
                     'identifier': 'varchar', 'customer_id': 'varchar', 'action': 'varchar', 'status': 'varchar',
                     'channel': 'varchar', 'logged_at': 'timestamp'},
    } -%}
    {%- set columns = declared[name] -%}
    {%- set rel = adapter.get_relation(database=target.database, schema='activation', identifier=name) if execute else none -%}
    {%- if rel -%}
        {#- The marker keeps the reading model out of the early cutoff (macros/materializations/cutoff.sql):
            dbt's graph does not know this table changes. -#}
        (select /* cdp: reads outside the dbt graph */ {% for c in columns %}{{ adapter.quote(c) }}{{ ", " if not loop.last }}{% endfor %} from {{ rel }})
    {%- else -%}
        (select {% for c, t in columns.items() %}cast(null as {{ t }}) as {{ adapter.quote(c) }}{{ ", " if not loop.last }}{% endfor %} where false)
    {%- endif -%}
{%- endmacro %}

{#- Wilson score interval of a proportion x/n at z: the bound on the given side. -#}
{% macro wilson_bound(x, n, z, side) -%}
    (({{ x }} / {{ n }} + {{ z }}^2 / (2 * {{ n }})) {{ '-' if side == 'lower' else '+' }}
     {{ z }} * sqrt(({{ x }} / {{ n }}) * (1 - {{ x }} / {{ n }}) / {{ n }} + {{ z }}^2 / (4 * {{ n }}^2)))
    / (1 + {{ z }}^2 / {{ n }})
{%- endmacro %}
