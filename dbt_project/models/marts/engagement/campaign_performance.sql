-- Grain: one row per campaign on any mailing platform. Counts are distinct addresses; rates are
-- over delivered letters: open_rate = opened / delivered, ctr = clicked / delivered,
-- click_to_open = clicked / opened, unsubscribe_rate = unsubscribed / delivered,
-- bounce_rate = bounced / sent.
with events as (
    select * from {{ ref('fct_email_events') }}
),

counts as (
    select
        campaign_key,
        any_value(platform) as platform,
        any_value(campaign_id) as campaign_id,
        any_value(campaign_name) as campaign_name,
        any_value(campaign_sent_at) as sent_at,
        count(distinct email) filter (where event_type = 'sent') as sent,
        count(distinct email) filter (where event_type = 'delivered') as delivered,
        count(distinct email) filter (where event_type = 'opened') as opened,
        count(distinct email) filter (where event_type = 'clicked') as clicked,
        count(distinct email) filter (where event_type = 'unsubscribed') as unsubscribed,
        count(distinct email) filter (where event_type = 'bounced') as bounced
    from events
    group by 1
),

final as (
    select
        *,
        opened / nullif(delivered, 0) as open_rate,
        clicked / nullif(delivered, 0) as ctr,
        clicked / nullif(opened, 0) as click_to_open,
        unsubscribed / nullif(delivered, 0) as unsubscribe_rate,
        bounced / nullif(sent, 0) as bounce_rate
    from counts
)

select * from final
