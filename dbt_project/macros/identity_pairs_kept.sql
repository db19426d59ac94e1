{#- Keeping the pairs int_identity_pairs_shared judged at its last build (see the model).

    Its table may be kept in part only when it is the very table the kept fingerprints were taken
    with (ops.identity_pair_fingerprints holds its row count and the sum of a hash of each row), and
    the rules that judged it are today's (the model's code and the comparison macros it calls).
    A build that stopped in between, a table edited by hand, other rules, a full refresh or
    `identity_incremental: false` judge every pair again. -#}

{%- macro identity_pairs_rules() -%}
    {{- return(local_md5(model.raw_code ~ identity_records_conflict('a', 'b') ~ identity_names_agree('a', 'b'))) -}}
{%- endmacro -%}

{#- What identifies a pairs table: its rows and a sum of their hashes (order-free). -#}
{%- macro identity_pairs_digest(relation) -%}
    select count(*) as pairs, coalesce(sum(hash(p)::hugeint), 0) as digest from {{ relation }} as p
{%- endmacro -%}

{#- The model's table as last built when it may be kept, else none. -#}
{%- macro identity_pairs_kept_basis() -%}
    {%- if not execute or should_full_refresh()
          or (var('identity_incremental', true) | string | lower) in ('false', '0', 'no') -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set previous = load_relation(this) -%}
    {%- set kept = adapter.get_relation(database=this.database, schema='ops', identifier='identity_pair_fingerprints') -%}
    {%- if previous is none or kept is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set holds = run_query(
        "select any_value(k.pairs = d.pairs and k.digest = d.digest and k.rules = '" ~ identity_pairs_rules() ~ "')"
        ~ " from " ~ kept ~ " as k, (" ~ identity_pairs_digest(previous) ~ ") as d").columns[0].values()[0] -%}
    {{- return(previous if holds else none) -}}
{%- endmacro -%}

{#- The post-hook: the fingerprints the table was just judged on, with its digest and rules. -#}
{%- macro identity_pairs_keep_fingerprints() -%}
    create or replace table ops.identity_pair_fingerprints as
    select f.record_key, f.fingerprint, d.pairs, d.digest, '{{ identity_pairs_rules() }}' as rules
    from {{ ref('int_identity_pair_fingerprints') }} as f
    cross join ({{ identity_pairs_digest(this) }}) as d
    where f.fingerprint is not null
{%- endmacro -%}
