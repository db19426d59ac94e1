{{ config(materialized='table') }}
-- Grain: one row per record now (in int_identity_records or int_identifiers_pairable) or at the
-- last build of int_identity_pairs_shared, with a hash of all the deterministic pass reads of it
-- (its identity record and its pairable identifiers; null once it is gone) and whether that moved
-- since that build. Why: a day's change touches ~1 % of the records, and judging every pair again
-- cost 15 s of a 1 M-people build (docs/benchmarks/notes.md); int_identity_pairs_shared judges
-- again only the pairs of changed records and of the records sharing an identifier with them, and
-- its post-hook keeps these fingerprints, as the ones its table was judged on, for the next build.
{%- set kept = adapter.get_relation(database=this.database, schema='ops', identifier='identity_pair_fingerprints') if execute else none %}
with records as (
    select record_key, hash(r) as record_hash from {{ ref('int_identity_records') }} as r
),

identifiers as (
    -- Order-free: the sum of a hash per identifier.
    select record_key, sum(hash(identifier_type, identifier_value, is_repaired)::hugeint) as identifiers_hash
    from {{ ref('int_identifiers_pairable') }}
    group by 1
),

now as (
    select record_key, hash(records.record_hash, coalesce(identifiers.identifiers_hash, 0)) as fingerprint
    from records full join identifiers using (record_key)
)

{% if kept is not none -%}
select record_key, now.fingerprint, now.fingerprint is distinct from kept.fingerprint as is_changed
from now full join {{ kept }} as kept using (record_key)
{%- else -%}
-- No fingerprints kept (the first build): every record counts as changed.
select record_key, fingerprint, true as is_changed from now
{%- endif %}
