-- Grain: one row per campaign and audience: audience 'all' (every recipient; the same figures as
-- campaign_performance) and one row per activated segment whose treated members the campaign
-- reached within `lift_window_days` after they were assigned (activation.segment_assignments).
-- In one place, the campaign metrics a CRM marketer reads: the e-mail funnel (macros/email_metrics.sql:
-- open, click and unsubscribe rates over delivered letters), and of the recipients who are known
-- customers: the repeat-purchase share (more than one completed order), historical LTV (mean net
-- revenue to date) and predicted revenue over the value horizon (customer_value). The lift of the
-- segment's send against its control group is campaign_lift.
{%- set window = var('lift_window_days', 30) %}
with events as (
    select * from {{ ref('fct_email_events') }}
),

treated as (
    select segment, customer_id, min(assigned_at) as assigned_at
    from {{ activation_table('segment_assignments') }}
    where not is_control
    group by 1, 2
),

segment_events as (
    select treated.segment as audience, events.*
    from events
    join treated
        on treated.customer_id = events.customer_id
        and events.campaign_sent_at >= treated.assigned_at
        and events.campaign_sent_at < treated.assigned_at + to_days({{ window }})
),

audiences as (
    select 'all' as audience, events.* from events
    union all
    select * from segment_events
),

-- Distinct addresses per segment audience, campaign and event type (macros/email_metrics.sql),
-- from their (few) attributed events. The 'all' audience is campaign_performance's funnel, the
-- same macros over every event: counted there once rather than again here.
per_event_type as (
    select
        audience,
        campaign_key,
        event_type,
        any_value(platform) as platform,
        any_value(campaign_name) as campaign_name,
        any_value(campaign_sent_at) as sent_at,
        {{ email_funnel_addresses('email') }}
    from segment_events
    group by 1, 2, 3
),

funnel as (
    select 'all' as audience, campaign_key, platform, campaign_name, sent_at,
           sent, delivered, opened, clicked, unsubscribed, bounced
    from {{ ref('campaign_performance') }}
    union all
    select
        audience,
        campaign_key,
        any_value(platform) as platform,
        any_value(campaign_name) as campaign_name,
        any_value(sent_at) as sent_at,
        {{ email_funnel_counts() }}
    from per_event_type
    group by 1, 2
),

recipients as (
    select distinct audience, campaign_key, customer_id
    from audiences
    where event_type = 'delivered' and customer_id is not null
),

customers as (
    select
        recipients.audience,
        recipients.campaign_key,
        count(*) as customers_delivered,
        count(*) filter (where c.orders_count > 1) / nullif(count(*) filter (where c.orders_count > 0), 0) as repeat_purchase_share,
        cast(round(avg(c.revenue) filter (where c.orders_count > 0), 2) as decimal(18, 2)) as mean_ltv,
        cast(round(avg(c.predicted_revenue), 2) as decimal(18, 2)) as mean_predicted_revenue
    from recipients
    join {{ ref('customer_360') }} as c using (customer_id)
    group by 1, 2
),

final as (
    select
        funnel.audience,
        funnel.campaign_key,
        funnel.platform,
        funnel.campaign_name,
        funnel.sent_at,
        funnel.sent,
        funnel.delivered,
        funnel.opened,
        funnel.clicked,
        funnel.unsubscribed,
        funnel.bounced,
        {{ email_rates() }},
        coalesce(customers.customers_delivered, 0) as customers_delivered,
        customers.repeat_purchase_share,
        customers.mean_ltv,
        customers.mean_predicted_revenue,
        '{{ var("currency", "RUB") }}' as currency
    from funnel
    left join customers using (audience, campaign_key)
)

select * from final
