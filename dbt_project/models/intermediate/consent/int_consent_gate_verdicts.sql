-- The consent gate's verdict per channel and address (macros/activation/consent_gate.sql reads it):
-- the consent events as the sources stated them (int_consent_events_raw) and each record's raw
-- contacts, read through the parse tables of phone and e-mail spellings only, never the consent
-- marts that build the audiences. Rules as in consent_current (DECISIONS.md, Consent).
--
-- A table, not part of the gate's view: the verdict is one pass over every consent event (3.0 s at
-- 1 M people, docs/benchmarks.md), and the view is read by the blocking check and again by the sync
-- of every audience, 36 reads a run at 18 audiences. Built once per `dbt build` from tables that
-- build also freezes, so the view answers exactly as before, in a fraction of a second.
with events as (
    select record_key, channel, address_raw, event_at, event_kind, is_standing_revocation
    from {{ ref('int_consent_events_raw') }}
),

emails as (
    select email_raw, email from {{ ref('int_email_addresses_parsed') }}
),

phones as (
    select phone_raw, phone from {{ ref('int_phone_numbers_parsed') }}
),

named as (
    -- An event that names its address applies to that address.
    select channel, case when contains(address_raw, '@') then 'email' else 'phone' end as address_type,
           address_raw, event_at, event_kind, is_standing_revocation
    from events
    where address_raw is not null
),

record_level as (
    -- An event that names none applies to the addresses of its own record only.
    select events.channel, raw.identifier_type as address_type, raw.identifier_raw as address_raw,
           events.event_at, events.event_kind, events.is_standing_revocation
    from events
    join {{ ref('int_identifiers_raw') }} as raw
        on raw.record_key = events.record_key and raw.identifier_type in ('email', 'phone')
    where events.address_raw is null
),

addressed as (
    -- Each spelling read through its parse table once, after the union: a join per branch kept
    -- four lookup tables in memory at once, and at a million people the build ran out of a 2 GB
    -- budget here.
    select spelled.channel, spelled.address_type,
           case when spelled.address_type = 'email' then emails.email else phones.phone end as address,
           spelled.event_at, spelled.event_kind, spelled.is_standing_revocation
    from (select * from named union all select * from record_level) as spelled
    left join emails on spelled.address_type = 'email' and emails.email_raw = spelled.address_raw
    left join phones on spelled.address_type = 'phone' and phones.phone_raw = spelled.address_raw
)

select channel, address_type, address,
       bool_or(event_kind = 'revoked' and is_standing_revocation) as has_standing_revocation,
       max(event_at) filter (where event_kind in ('granted', 'double_opt_in_confirmed')) as granted_at,
       max(coalesce(event_at, 'infinity'::timestamp)) filter (where event_kind = 'revoked') as revoked_at
from addressed
where address is not null
group by 1, 2, 3
