{{ config(materialized='table') }}
-- Grain: one row per record and identifier the deterministic pass pairs records on: the linkable
-- identifiers, and a repaired e-mail (int_email_addresses_parsed: `gmial.com`, `@@`) the record
-- does not also hold as written. A table of its own because two models read it: the pairs, and
-- the fingerprints that tell which records' pairs must be judged again.
with linkable as (
    select record_key, identifier_type, identifier_value, false as is_repaired
    from {{ ref('int_identifiers_linkable') }}
),

repaired as (
    select distinct raw.record_key, 'email' as identifier_type, parsed.email_repaired as identifier_value, true as is_repaired
    from {{ ref('int_identifiers_raw') }} as raw
    join {{ ref('int_email_addresses_parsed') }} as parsed on parsed.email_raw = raw.identifier_raw
    semi join {{ ref('int_identity_records') }} as people using (record_key)
    anti join {{ ref('int_identifiers_overshared') }} as overshared
        on overshared.identifier_type = 'email' and overshared.identifier_value = parsed.email_repaired
    where raw.identifier_type = 'email' and parsed.email_repaired is not null
)

-- Linkable rows are one per record and value already, so the repaired ones are added where they
-- are new (a grouping of the union cost a pass over every identifier).
select * from linkable
union all
select * from repaired
anti join linkable using (record_key, identifier_type, identifier_value)
