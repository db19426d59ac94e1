-- Grain: one row per issue (campaign), address and event type, the same contract as
-- stg_unisender__message_events. Every statistics row is a send (dated by the delivery); a read or
-- a click implies the letter was delivered and opened (a click without a recorded read still
-- counts as an open, at the click's time); statuses 1 and 2 are bounces. An event view over
-- stg_sendsay__issue_member_stats, and the `message_events` cross-system shape (email_raw: the
-- address as Sendsay wrote it; email: the same trimmed and lower-cased).
with stats as (
    select * from {{ ref('stg_sendsay__issue_member_stats') }}
    where email is not null
),

events as (
    select campaign_id, email, email_raw, 'sent' as event_type, delivered_at as event_at from stats
    union all
    select campaign_id, email, email_raw, 'delivered', delivered_at
    from stats where delivery_status = 0 or first_read_at is not null or first_click_at is not null
    union all
    select campaign_id, email, email_raw, 'opened', least(coalesce(first_read_at, first_click_at), coalesce(first_click_at, first_read_at))
    from stats where first_read_at is not null or first_click_at is not null
    union all
    select campaign_id, email, email_raw, 'clicked', first_click_at from stats where first_click_at is not null
    union all
    select campaign_id, email, email_raw, 'unsubscribed', unsubscribed_at from stats where unsubscribed_at is not null
    union all
    select campaign_id, email, email_raw, 'bounced', delivered_at from stats where delivery_status in (1, 2)
),

final as (
    select
        'sendsay' as source_system,
        cast(campaign_id as varchar) as campaign_id,
        cast(email_raw as varchar) as email_raw,
        cast(email as varchar) as email,
        cast(event_type as varchar) as event_type,
        cast(event_at as timestamp) as event_at
    from events
)

select * from final
