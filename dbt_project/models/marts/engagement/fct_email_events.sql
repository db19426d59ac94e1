-- Grain: one row per mailing platform, campaign, address and event type (sent, delivered,
-- opened, clicked, unsubscribed, bounced), with the customer the address belongs to. Addresses
-- shared by many records (role mailboxes) and addresses no customer record carries stay
-- unattributed (customer_id null) rather than credited to an arbitrary person.
with events as (
    select events.source_system as platform, events.campaign_id, coalesce(emails.email, lower(trim(events.email_raw))) as email,
           events.event_type, events.event_at
    from {{ ref('int_message_events_unioned') }} as events
    left join {{ ref('int_email_addresses_parsed') }} as emails on emails.email_raw = events.email_raw
),

campaigns as (
    select source_system as platform, campaign_id, campaign_name, sent_at from {{ ref('int_campaigns_unioned') }}
),

email_owner as (
    select identifier_value as email, customer_id
    from {{ ref('int_identifier_owners') }}
    where identifier_type = 'email'
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
        email_owner.customer_id,
        events.event_type,
        events.event_at
    from events
    left join campaigns using (platform, campaign_id)
    left join email_owner using (email)
)

select * from final
