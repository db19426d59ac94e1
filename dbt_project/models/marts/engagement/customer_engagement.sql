-- Grain: one row per customer who was ever sent a campaign. Counts are campaigns (a campaign
-- opened twice counts once); open_rate = campaigns opened / campaigns delivered, ctr = campaigns
-- clicked / campaigns delivered.
with events as (
    select * from {{ ref('fct_email_events') }} where customer_id is not null
),

per_customer as (
    select
        customer_id,
        count(distinct campaign_key) filter (where event_type = 'sent') as campaigns_sent,
        count(distinct campaign_key) filter (where event_type = 'delivered') as campaigns_delivered,
        count(distinct campaign_key) filter (where event_type = 'opened') as campaigns_opened,
        count(distinct campaign_key) filter (where event_type = 'clicked') as campaigns_clicked,
        count(distinct campaign_key) filter (where event_type = 'unsubscribed') as unsubscribes,
        count(distinct campaign_key) filter (where event_type = 'bounced') as bounces,
        max(event_at) filter (where event_type = 'opened') as last_opened_at,
        max(event_at) filter (where event_type = 'clicked') as last_clicked_at
    from events
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
