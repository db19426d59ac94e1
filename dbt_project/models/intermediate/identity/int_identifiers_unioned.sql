-- The long table of identifiers: (record, identifier type, normalised value). Phones are E.164 by
-- libphonenumber's rules (int_phone_numbers_parsed), e-mails trimmed, lower-cased, IDN domains in
-- Unicode (int_email_addresses_parsed); only valid
-- values get here, invalid ones are listed with their reason in int_identifier_issues and link
-- nothing.
with raw as (
    -- Only identifiers of person records (not of company cards left out there).
    select * from {{ ref('int_identifiers_raw') }}
    semi join {{ ref('int_source_records_unioned') }} using (record_key)
),

phones as (
    select * from {{ ref('int_phone_numbers_parsed') }}
),

parsed_emails as (
    select * from {{ ref('int_email_addresses_parsed') }}
),

emails as (
    select
        raw.record_key, raw.source_system, raw.identifier_position, raw.identifier_usage,
        'email' as identifier_type,
        parsed_emails.email as identifier_value
    from raw
    join parsed_emails on parsed_emails.email_raw = raw.identifier_raw
    where raw.identifier_type = 'email' and parsed_emails.email is not null
),

phone_numbers as (
    select
        raw.record_key, raw.source_system, raw.identifier_position, raw.identifier_usage,
        'phone' as identifier_type,
        phones.phone as identifier_value
    from raw
    join phones on phones.phone_raw = raw.identifier_raw
    where raw.identifier_type = 'phone'
      and phones.phone is not null
      -- A work landline is the employer's switchboard, shared by colleagues (often fewer than the
      -- overshared threshold): it does not identify a person.
      and not (coalesce(raw.identifier_usage, '') = 'work' and phones.phone_kind = 'fixed_line')
),

other_ids as (
    select
        record_key, source_system, identifier_position, identifier_usage,
        identifier_type,
        trim(identifier_raw) as identifier_value
    from raw
    where identifier_type not in ('email', 'phone')
),

unioned as (
    select * from emails
    union all select * from phone_numbers
    union all select * from other_ids
),

final as (
    -- One row per record and value, its first position (macros/sort_keys.sql: why arg_min).
    select record_key, identifier_type, identifier_value, unnest(first_seen)
    from (
        select record_key, identifier_type, identifier_value,
               arg_min({'source_system': source_system, 'identifier_position': identifier_position,
                        'identifier_usage': identifier_usage},
                       {'position': identifier_position, 'usage': identifier_usage}) as first_seen
        from unioned
        group by 1, 2, 3
    )
)

select * from final
