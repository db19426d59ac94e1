-- Grain: one row per consent event and address, as consent_events, without the customer. Consent is
-- held per address, so everything that decides it is known before identity resolution: this table,
-- int_consent_addresses and int_consent_address_records are built beside identity, and only
-- consent_events and consent_current, which name the customer, wait for it (a 1 M change run's
-- dbt step waited on one chain through identity and then consent: docs/benchmarks/notes.md).
-- An event that names its address applies to that address; an event
-- that does not (a CRM record's subscription tick) applies to the addresses of that same record
-- only, never to other records of the customer, so a merge, right or wrong, never lends one
-- record's grant to another record's address. Nothing here decides; int_consent_addresses does.
with events as (
    select * from {{ ref('int_consent_events_raw') }}
),

phones as (
    select phone_raw, phone from {{ ref('int_phone_numbers_parsed') }}
),

emails as (
    select email_raw, email from {{ ref('int_email_addresses_parsed') }}
),

record_addresses as (
    select record_key, identifier_type as address_type, identifier_value as address
    from {{ ref('int_identifiers_unioned') }}
    where identifier_type in ('email', 'phone')
),

channel_address_types as (
    -- Which kind of address each channel reaches. Advertising audiences match on both.
    select * from (values
        ('email', 'email'), ('sms', 'phone'), ('phone', 'phone'), ('messengers', 'phone'),
        ('ads', 'email'), ('ads', 'phone')
    ) as t(channel, address_type)
),

named_address as (
    select
        events.*,
        case when contains(events.address_raw, '@') then 'email' else 'phone' end as address_type,
        case when contains(events.address_raw, '@') then emails.email else phones.phone end as address
    from events
    left join phones on phones.phone_raw = events.address_raw
    left join emails on emails.email_raw = events.address_raw
    where events.address_raw is not null
),

record_address as (
    select events.*, record_addresses.address_type, record_addresses.address
    from events
    join channel_address_types using (channel)
    join record_addresses
        on record_addresses.record_key = events.record_key
        and record_addresses.address_type = channel_address_types.address_type
    where events.address_raw is null
),

resolved as (
    select * from named_address where address is not null
    union all by name
    select * from record_address
),

final as (
    select
        md5(resolved.record_key || '|' || resolved.channel || '|' || resolved.address || '|' || resolved.evidence
            || '|' || coalesce(cast(resolved.event_at as varchar), '')) as consent_event_id,
        resolved.channel,
        resolved.address_type,
        resolved.address,
        resolved.source_system,
        resolved.record_key,
        resolved.event_at,
        resolved.event_kind,
        resolved.evidence,
        resolved.is_standing_revocation
    from resolved
    -- A grant needs a date to prove when it was given; a revocation counts even undated.
    where resolved.event_at is not null or resolved.event_kind = 'revoked'
)

select * from final
