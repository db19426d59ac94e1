-- Grain: one row per channel and address that any source mentions, with whether it may be used and
-- the proof; the customer is attached by consent_current. Rules (DECISIONS.md, Consent):
--   1. a standing revocation of the address (an unsubscribe the mailing tool still reports) means
--      no consent, whatever any other source says;
--   2. otherwise a grant counts only if it is later than the last revocation of that address
--      from any source; an undated revocation is later than everything;
--   3. an address no source mentions has no row and therefore no consent (38-FZ art. 18: prior
--      consent is required and the sender must be able to prove it).
-- Built from the events before identity resolution, so beside it (int_consent_events_resolved).
with events as (
    select * from {{ ref('int_consent_events_resolved') }}
),

per_address as (
    select
        channel,
        address_type,
        address,
        max(event_at) filter (where event_kind in ('granted', 'double_opt_in_confirmed')) as last_granted_at,
        max(coalesce(event_at, 'infinity'::timestamp)) filter (where event_kind = 'revoked') as last_revoked_at,
        bool_or(is_standing_revocation and event_kind = 'revoked') as has_standing_revocation
    from events
    group by 1, 2, 3
),

-- One row per address each (macros/sort_keys.sql says why arg_min and not distinct on).
proof as (
    -- The latest dated grant (ties: the smaller event id).
    select channel, address_type, address, unnest(best)
    from (
        select channel, address_type, address,
               arg_min({'consent_event_id': consent_event_id, 'source_system': source_system, 'evidence': evidence,
                        'record_key': record_key},
                       {'at': {{ latest_first('event_at') }}, 'id': consent_event_id}) as best
        from events
        where event_kind in ('granted', 'double_opt_in_confirmed') and event_at is not null
        group by 1, 2, 3
    )
),

revocation as (
    -- A standing revocation first, then the latest (an undated one is later than everything).
    select channel, address_type, address, unnest(best)
    from (
        select channel, address_type, address,
               arg_min({'revoked_by': source_system, 'revocation_evidence': evidence},
                       {'standing': case when is_standing_revocation then 0 when not is_standing_revocation then 1 else 2 end,
                        'at': {{ latest_first("coalesce(event_at, 'infinity'::timestamp)") }}, 'id': consent_event_id}) as best
        from events
        where event_kind = 'revoked'
        group by 1, 2, 3
    )
)

select
    per_address.channel,
    per_address.address_type,
    per_address.address,
    not per_address.has_standing_revocation
        and per_address.last_granted_at is not null
        and (per_address.last_revoked_at is null or per_address.last_granted_at > per_address.last_revoked_at)
        as has_consent,
    per_address.last_granted_at,
    case when per_address.last_revoked_at = 'infinity'::timestamp then null else per_address.last_revoked_at end as last_revoked_at,
    per_address.has_standing_revocation,
    revocation.revoked_by,
    revocation.revocation_evidence,
    proof.consent_event_id as granting_event_id,
    proof.source_system as granted_by,
    proof.evidence as grant_evidence,
    proof.record_key as granting_record_key
from per_address
left join proof using (channel, address_type, address)
left join revocation using (channel, address_type, address)
