-- Grain: one row per customer who was ever sent a campaign. Counts are campaigns (a campaign
-- opened twice counts once); open_rate = campaigns opened / campaigns delivered, ctr = campaigns
-- clicked / campaigns delivered.
with events as (
    select * from {{ ref('fct_email_events') }} where customer_id is not null
),

-- Distinct campaigns per customer and event type in one aggregate, then the event types as
-- columns (six filtered distinct counts over every event cost six hash tables).
per_event_type as (
    select
        customer_id,
        event_type,
        count(distinct campaign_key) as campaigns,
        max(event_at) as last_event_at
    from events
    group by 1, 2
),

per_customer as (
    select
        customer_id,
        coalesce(max(campaigns) filter (where event_type = 'sent'), 0) as campaigns_sent,
        coalesce(max(campaigns) filter (where event_type = 'delivered'), 0) as campaigns_delivered,
        coalesce(max(campaigns) filter (where event_type = 'opened'), 0) as campaigns_opened,
        coalesce(max(campaigns) filter (where event_type = 'clicked'), 0) as campaigns_clicked,
        coalesce(max(campaigns) filter (where event_type = 'unsubscribed'), 0) as unsubscribes,
        coalesce(max(campaigns) filter (where event_type = 'bounced'), 0) as bounces,
        max(last_event_at) filter (where event_type = 'opened') as last_opened_at,
        max(last_event_at) filter (where event_type = 'clicked') as last_clicked_at
    from per_event_type
    group by 1
),

final as (
    select
        *,
        campaigns_opened / nullif(campaigns_delivered, 0) as open_rate,
        campaigns_clicked / nullif(campaigns_delivered, 0) as ctr
    from per_customer
)

select * from final
