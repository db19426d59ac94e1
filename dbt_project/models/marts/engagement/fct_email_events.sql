{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
          pre_hook="{{ email_platforms_clear_stale() }}", post_hook="{{ email_events_reattribute() }}") }}
-- Grain: one row per mailing platform, campaign, address and event type (sent, delivered,
-- opened, clicked, unsubscribed, bounced), with the customer the address belongs to. Addresses
-- shared by many records (role mailboxes) and addresses no customer record carries stay
-- unattributed (customer_id null) rather than credited to an arbitrary person.
-- Each address spelling is resolved once (normalised e-mail, then its owner), not per event: the
-- events then need one join instead of two over millions of rows.
-- Kept between builds: a build selects only the platforms whose events or campaigns changed and
-- moves the others' rows to their address's current owner
-- (macros/engagement/email_events_incremental.sql).
{%- set stale = email_event_platforms_stale() if execute and is_incremental() else none %}
with addresses as (
    select spellings.email_raw, coalesce(emails.email, lower(trim(spellings.email_raw))) as email
    from (select distinct email_raw from {{ ref('int_message_events_unioned') }}
          {%- if stale is not none %} where {{ union_slice_predicate(stale) }}{% endif %}) as spellings
    left join {{ ref('int_email_addresses_parsed') }} as emails on emails.email_raw = spellings.email_raw
),

email_owner as (
    select identifier_value as email, customer_id
    from {{ ref('int_identifier_owners') }}
    where identifier_type = 'email'
),

attributed as (
    select addresses.email_raw, addresses.email, email_owner.customer_id
    from addresses
    left join email_owner using (email)
),

events as (
    select events.source_system as platform, events.campaign_id, attributed.email, attributed.customer_id,
           events.event_type, events.event_at
    from {{ ref('int_message_events_unioned') }} as events
    left join attributed on attributed.email_raw = events.email_raw
    {%- if stale is not none %}
    where {{ union_slice_predicate(stale, 'events.source_system') }}
    {%- endif %}
),

campaigns as (
    select source_system as platform, campaign_id, campaign_name, sent_at from {{ ref('int_campaigns_unioned') }}
),

final as (
    select
        md5(events.platform || '|' || events.campaign_id || '|' || events.email || '|' || events.event_type) as email_event_id,
        events.platform,
        events.platform || ':' || events.campaign_id as campaign_key,
        events.campaign_id,
        campaigns.campaign_name,
        campaigns.sent_at as campaign_sent_at,
        events.email,
        events.customer_id,
        events.event_type,
        events.event_at
    from events
    left join campaigns using (platform, campaign_id)
)

select * from final
