{#
  The independent consent gate: every outgoing address checked against the consent events as the
  sources stated them (intermediate.int_consent_events_raw) and each record's raw contacts, read
  through the parse tables of phone and e-mail spellings only. It does not read
  marts.consent_events / consent_current, which built the audiences: a fault there stops the sync
  instead of passing through it. Rules as in consent_current (DECISIONS.md, Consent): a standing
  revocation wins; otherwise a dated grant later than every revocation of the address; an undated
  revocation is later than everything; an address no event names has no consent.

  One row per offending address, named by a hash (never in clear), with the reason.
  The identifier actually sent is recomputed from the checked address (its platform form), so an
  audience that sends something other than the address it names cannot pass either.
  `audiences`: (model, destination, segment, channel, address_type, identifier form) per audience.
#}
{% macro consent_gate_offenders(audiences) %}
with outgoing as (
    {%- for a in audiences %}
    select '{{ a.destination }}' as destination, '{{ a.segment }}' as segment, '{{ a.channel }}' as channel,
           '{{ a.address_type }}' as address_type, address,
           -- what is sent must be made from the address checked, or the check proves nothing
           identifier is distinct from {{ identifier_form(a.identifier, 'address') }} as identifier_not_from_address
    from {{ ref(a.model) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

events as (
    select record_key, channel, address_raw, event_at, event_kind, is_standing_revocation
    from {{ ref('int_consent_events_raw') }}
    where channel in (select distinct channel from outgoing)
),

emails as (
    select email_raw, email from {{ ref('int_email_addresses_parsed') }}
),

phones as (
    select phone_raw, phone from {{ ref('int_phone_numbers_parsed') }}
),

named as (
    -- An event that names its address applies to that address.
    select events.channel,
           case when contains(events.address_raw, '@') then 'email' else 'phone' end as address_type,
           case when contains(events.address_raw, '@') then emails.email else phones.phone end as address,
           events.event_at, events.event_kind, events.is_standing_revocation
    from events
    left join emails on emails.email_raw = events.address_raw
    left join phones on phones.phone_raw = events.address_raw
    where events.address_raw is not null
),

record_level as (
    -- An event that names none applies to the addresses of its own record only.
    select events.channel, raw.identifier_type as address_type,
           case when raw.identifier_type = 'email' then emails.email else phones.phone end as address,
           events.event_at, events.event_kind, events.is_standing_revocation
    from events
    join {{ ref('int_identifiers_raw') }} as raw
        on raw.record_key = events.record_key and raw.identifier_type in ('email', 'phone')
    left join emails on raw.identifier_type = 'email' and emails.email_raw = raw.identifier_raw
    left join phones on raw.identifier_type = 'phone' and phones.phone_raw = raw.identifier_raw
    where events.address_raw is null
),

verdict as (
    select channel, address_type, address,
           bool_or(event_kind = 'revoked' and is_standing_revocation) as has_standing_revocation,
           max(event_at) filter (where event_kind in ('granted', 'double_opt_in_confirmed')) as granted_at,
           max(coalesce(event_at, 'infinity'::timestamp)) filter (where event_kind = 'revoked') as revoked_at
    from (select * from named union all select * from record_level)
    where address is not null
    group by 1, 2, 3
),

final as (
    select
        outgoing.destination,
        outgoing.segment,
        outgoing.channel,
        left(sha256(coalesce(outgoing.address, '')), 16) as address_hash,
        case
            when outgoing.address is null then 'no address'
            when outgoing.identifier_not_from_address then 'the identifier sent is not made from this address'
            when verdict.address is null then 'no consent event names this address'
            when verdict.has_standing_revocation then 'revoked (standing unsubscribe)'
            when verdict.granted_at is null then 'no dated grant'
            else 'revoked after the last grant'
        end as reason
    from outgoing
    left join verdict using (channel, address_type, address)
    where outgoing.address is null
       or outgoing.identifier_not_from_address
       or verdict.address is null
       or verdict.has_standing_revocation
       or verdict.granted_at is null
       or (verdict.revoked_at is not null and verdict.revoked_at >= verdict.granted_at)
)

select * from final
{% endmacro %}
