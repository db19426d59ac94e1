{{ config(materialized='table', post_hook=['create schema if not exists ops', "{{ identity_pairs_keep_fingerprints() }}"]) }}
-- depends_on: {{ ref('int_identity_pair_fingerprints') }}
-- Grain: one row per pair of records that share at least one linkable identifier, with the
-- deterministic verdict. Why pairs and not "same identifier, same person": a mobile number shared
-- by exactly two people (a household phone, a relative's number typed on someone's card, a number
-- that changed hands) is the commonest false merge in real exports, and it is visible only when
-- the two records are compared. So:
--   - a cross-system id (1C code or reference, loyalty card) or surname + given name + birth date
--     links outright;
--   - a shared phone or e-mail links unless the two records conflict (different given names,
--     different birth dates, or different surnames with no birth date to vouch for a marriage:
--     macro identity_records_conflict); then it is a shared contact, kept as a relation
--     (shared_contacts), not evidence of one person;
--   - once an identifier is a shared contact, a record without a name cannot be placed through it
--     (it could be either person) and is left to the other evidence;
--   - a repaired e-mail (int_email_addresses_parsed: `gmial.com`, `@@`) links only when the names
--     agree as well, or when one record has no name to agree with (a mailing-list row).
--
-- Pairs are judged again only where something they depend on moved (macros/identity_pairs_kept.sql):
-- the pairs of records whose fingerprint changed (int_identity_pair_fingerprints), of the records
-- they were paired with, and of the records they now share an identifier with. The rest is the
-- table as last built. `identity_incremental: false` or a full refresh judges every pair, with the
-- same result.
{% set previous = identity_pairs_kept_basis() %}
with identifiers as (
    select * from {{ ref('int_identifiers_pairable') }}
),

{% if previous is not none -%}
changed as (
    select record_key from {{ ref('int_identity_pair_fingerprints') }} where is_changed
),

-- A contact a changed record joined or left may turn a shared contact or back, for every pair on
-- it: the records it was paired with and the ones it shares an identifier with now are judged too.
scope as (
    select record_key from changed
    union
    select previous.record_key_b from {{ previous }} as previous semi join changed on changed.record_key = previous.record_key_a
    union
    select previous.record_key_a from {{ previous }} as previous semi join changed on changed.record_key = previous.record_key_b
    union
    select others.record_key
    from (select identifier_type, identifier_value from identifiers semi join changed using (record_key)) as theirs
    join identifiers as others using (identifier_type, identifier_value)
),

-- Every identifier a record in scope holds, with all its holders (whether it is a shared contact
-- is decided over all of them).
judged_identifiers as (
    select * from identifiers
    semi join (select distinct identifier_type, identifier_value from identifiers semi join scope using (record_key)) as held
        using (identifier_type, identifier_value)
),
{%- else -%}
judged_identifiers as (
    select * from identifiers
),
{%- endif %}

records as (
    select * from {{ ref('int_identity_records') }}
),

pairs_by_identifier as (
    select
        a.record_key as record_key_a,
        b.record_key as record_key_b,
        a.identifier_type,
        a.identifier_value,
        a.is_repaired or b.is_repaired as is_repaired
    from judged_identifiers as a
    join judged_identifiers as b
      on a.identifier_type = b.identifier_type and a.identifier_value = b.identifier_value and a.record_key < b.record_key
),

-- Two records are compared once, however many identifiers they share (a third more rows at
-- 1 M people: 3.8 M pairs by identifier, 2.7 M pairs). Joining the records' names and dates to
-- every identifier row held both records tables in memory beside the wider rows, and at the 2GB
-- cap the model spilled: 18.3 s against 14.0 s this way, the same rows (docs/benchmarks/notes.md).
record_pairs as (
    select distinct record_key_a, record_key_b from pairs_by_identifier
),

pairs_compared as (
    select
        p.record_key_a,
        p.record_key_b,
        ra.source_system = rb.source_system as same_system,
        {{ identity_records_conflict('ra', 'rb') }} as is_conflict,
        {{ identity_names_agree('ra', 'rb') }} as names_agree,
        ra.person_key is null or rb.person_key is null as has_nameless
    from record_pairs as p
    join records as ra on ra.record_key = p.record_key_a
    join records as rb on rb.record_key = p.record_key_b
),

compared as (
    select * from pairs_by_identifier join pairs_compared using (record_key_a, record_key_b)
),

-- A contact two named records in conflict share is a shared contact as a whole.
shared_identifiers as (
    select distinct identifier_type, identifier_value
    from compared
    where identifier_type in ('phone', 'email') and is_conflict
),

judged as (
    select
        compared.*,
        case
            when compared.identifier_type not in ('phone', 'email') then 'linked'
            when compared.is_conflict then 'shared contact'
            when shared.identifier_value is not null and compared.has_nameless then 'ambiguous shared contact'
            -- A nameless record (a mailing-list row) has nothing to conflict with: the repaired
            -- address is its own; two named records must also agree on the name.
            when compared.is_repaired and not compared.has_nameless and not compared.names_agree then 'repaired, names unconfirmed'
            else 'linked'
        end as verdict
    from compared
    left join shared_identifiers as shared using (identifier_type, identifier_value)
),

final as (
    select
        record_key_a,
        record_key_b,
        bool_or(verdict = 'linked') as is_linked,
        -- The strongest identifier that linked the pair names the rule (ties: by name, so the
        -- same pairs give the same rule on every build).
        arg_min(
            case when is_repaired then 'repaired_email' else identifier_type end,
            {'strength': case when verdict <> 'linked' then 9
                              when identifier_type in ('onec_code', 'onec_ref', 'loyalty_card') then 1
                              when identifier_type = 'email' and not is_repaired then 2
                              when identifier_type = 'phone' then 3
                              when identifier_type = 'name_birthday' then 4
                              else 5 end,
             'rule': case when is_repaired then 'repaired_email' else identifier_type end}
        ) as rule,
        -- Sorted after aggregating: an ordered aggregate sorts within every group.
        list_sort(list_distinct(list(case when is_repaired then 'repaired_email' else identifier_type end || ': ' || verdict))) as evidence,
        bool_or(verdict = 'shared contact') as is_shared_contact,
        any_value(same_system) as same_system
    from judged
    group by 1, 2
)

{% if previous is not none -%}
select * from final
where record_key_a in (select record_key from scope) or record_key_b in (select record_key from scope)
union all
select previous.*
from {{ previous }} as previous
anti join scope as a on a.record_key = previous.record_key_a
anti join scope as b on b.record_key = previous.record_key_b
{%- else -%}
select * from final
{%- endif %}
