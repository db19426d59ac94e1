{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
          pre_hook="{{ email_platforms_clear_stale() }}") }}
-- Grain: one row per campaign on any mailing platform. Counts are distinct addresses; rates are
-- over delivered letters: open_rate = opened / delivered, ctr = clicked / delivered,
-- click_to_open = clicked / opened, unsubscribe_rate = unsubscribed / delivered,
-- bounce_rate = bounced / sent (macros/email_metrics.sql, shared with campaign_metrics).
-- Kept between builds: only the platforms whose events or campaigns changed are counted again
-- (macros/engagement/email_events_incremental.sql); the counts are of addresses, so a customer
-- id moving does not touch them.
{%- set stale = email_event_platforms_stale() if execute and is_incremental() else none %}
with events as (
    select * from {{ ref('fct_email_events') }}
    {%- if stale is not none %}
    where {{ union_slice_predicate(stale, 'platform') }}
    {%- endif %}
),

per_event_type as (
    select
        campaign_key,
        event_type,
        any_value(platform) as platform,
        any_value(campaign_id) as campaign_id,
        any_value(campaign_name) as campaign_name,
        any_value(campaign_sent_at) as sent_at,
        {{ email_funnel_addresses('email') }}
    from events
    group by 1, 2
),

counts as (
    select
        campaign_key,
        any_value(platform) as platform,
        any_value(campaign_id) as campaign_id,
        any_value(campaign_name) as campaign_name,
        any_value(sent_at) as sent_at,
        {{ email_funnel_counts() }}
    from per_event_type
    group by 1
),

final as (
    select
        *,
        {{ email_rates() }}
    from counts
)

select * from final
