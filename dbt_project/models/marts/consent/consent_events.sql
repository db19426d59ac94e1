-- Grain: one row per consent event and address (channel, address type, normalised address, source,
-- time, kind), with the customer whose record stated it. The events themselves, resolved to their
-- addresses before identity: int_consent_events_resolved. Nothing here decides; consent_current does.
with identity as (
    select record_key, customer_id from {{ ref('customer_identity_map') }}
)

select
    events.consent_event_id,
    identity.customer_id,
    events.channel,
    events.address_type,
    events.address,
    events.source_system,
    events.record_key,
    events.event_at,
    events.event_kind,
    events.evidence,
    events.is_standing_revocation
from {{ ref('int_consent_events_resolved') }} as events
left join identity using (record_key)
