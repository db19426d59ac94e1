-- Identifier values no rule could use, with the reason: a phone libphonenumber does not call a
-- valid number, a string that is not an e-mail address. The record still loads with what is good.
-- The value itself is kept only as a hash, so this table can be shown and reported freely.
with raw as (
    select * from {{ ref('int_identifiers_raw') }}
),

phones as (
    select * from {{ ref('int_phone_numbers_parsed') }}
),

phone_issues as (
    select raw.source_system, raw.source_record_id, raw.record_key, 'phone' as field, phones.phone_issue as reason, raw.identifier_raw
    from raw
    join phones on phones.phone_raw = raw.identifier_raw
    -- A mistyped switchboard is the switchboard, not an invalid phone (int_phone_switchboard_variants).
    anti join {{ ref('int_phone_switchboard_variants') }} as switchboards on switchboards.phone_raw = raw.identifier_raw
    where raw.identifier_type = 'phone' and phones.phone is null
),

email_issues as (
    select raw.source_system, raw.source_record_id, raw.record_key, 'email', emails.email_issue, raw.identifier_raw
    from raw
    join {{ ref('int_email_addresses_parsed') }} as emails on emails.email_raw = raw.identifier_raw
    where raw.identifier_type = 'email' and emails.email is null
),

unioned as (
    select * from phone_issues
    union all select * from email_issues
),

final as (
    select
        source_system,
        source_record_id,
        record_key,
        field,
        reason,
        sha256(identifier_raw) as value_sha256
    from unioned
)

select * from final
