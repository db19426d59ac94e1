-- Grain: one row per customer and channel that any source mentions. Rules:
--   1. a standing revocation (an unsubscribe the mailing tool still reports) means no consent;
--   2. otherwise a grant counts only if it is later than the last revocation from any source;
--   3. a customer/channel with no event has no row and therefore no consent (38-FZ art. 18:
--      prior consent is required and the sender must be able to prove it).
with events as (
    select * from {{ ref('consent_events') }}
),

per_channel as (
    select
        customer_id,
        channel,
        max(event_at) filter (where event_kind in ('granted', 'double_opt_in_confirmed')) as last_granted_at,
        max(event_at) filter (where event_kind = 'revoked') as last_revoked_at,
        bool_or(is_standing_revocation) as has_standing_revocation
    from events
    group by 1, 2
),

proof as (
    select distinct on (customer_id, channel)
        customer_id, channel, consent_event_id, source_system, evidence
    from events
    where event_kind in ('granted', 'double_opt_in_confirmed')
    order by customer_id, channel, event_at desc, consent_event_id
),

revocation as (
    select distinct on (customer_id, channel)
        customer_id, channel, source_system as revoked_by
    from events
    where event_kind = 'revoked'
    order by customer_id, channel, is_standing_revocation desc, event_at desc, consent_event_id
),

final as (
    select
        per_channel.customer_id,
        per_channel.channel,
        not per_channel.has_standing_revocation
            and per_channel.last_granted_at is not null
            and (per_channel.last_revoked_at is null or per_channel.last_granted_at > per_channel.last_revoked_at)
            as has_consent,
        per_channel.last_granted_at,
        per_channel.last_revoked_at,
        revocation.revoked_by,
        proof.consent_event_id as granting_event_id,
        proof.source_system as granted_by,
        proof.evidence as grant_evidence
    from per_channel
    left join proof using (customer_id, channel)
    left join revocation using (customer_id, channel)
)

select * from final
