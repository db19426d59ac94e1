-- Grain: one row per campaign, address and event type (sent, delivered, opened, clicked,
-- unsubscribed, bounced). Unisender reports one final status per address (send_result), and a
-- status implies the steps before it: `ok_link_visited` means the letter was delivered and opened
-- too, so those events are emitted as well; `ok_unsubscribed` (the link is inside the letter)
-- implies delivered and opened; a visited link implies delivered, opened and clicked whatever the
-- final status says. An implied event carries the earliest time there is evidence for: the first
-- visit for a click, else the status change time, which can be later than the event itself.
-- `sent` is dated by the campaign's start. `not_sent` and refusals before sending
-- (err_skip_letter, err_unsubscribed, err_not_allowed, ...) are no event at all.
-- It reads the three staging views, not a raw table: an event view over them, and the
-- `message_events` cross-system shape (email_raw: the address as Unisender wrote it; email: the
-- same trimmed and lower-cased, the key the visited links are matched on).
with deliveries as (
    select * from {{ ref('stg_unisender__campaign_deliveries') }}
),

campaigns as (
    select campaign_id, sent_at from {{ ref('stg_unisender__campaigns') }}
),

first_clicks as (
    select campaign_id, email, min(first_visited_at) as clicked_at
    from {{ ref('stg_unisender__visited_links') }}
    group by 1, 2
),

classified as (
    select
        deliveries.campaign_id,
        deliveries.email,
        deliveries.email_raw,
        coalesce(campaigns.sent_at, deliveries.status_changed_at) as sent_at,
        deliveries.status_changed_at,
        first_clicks.clicked_at,
        deliveries.send_result in (
            'err_user_unknown', 'err_user_inactive', 'err_mailbox_full', 'err_spam_rejected', 'err_spam_folder',
            'err_delivery_failed', 'err_domain_inactive', 'err_dest_invalid', 'err_not_available'
        ) as is_bounce,
        deliveries.send_result in (
            'ok_delivered', 'ok_read', 'ok_link_visited', 'ok_unsubscribed', 'ok_spam_folder', 'ok_fbl'
        ) or first_clicks.clicked_at is not null as is_delivered,
        deliveries.send_result in ('ok_read', 'ok_link_visited', 'ok_unsubscribed', 'ok_fbl')
            or first_clicks.clicked_at is not null as is_opened,
        deliveries.send_result = 'ok_link_visited' or first_clicks.clicked_at is not null as is_clicked,
        deliveries.send_result = 'ok_unsubscribed' as is_unsubscribed,
        deliveries.send_result like 'ok\_%' escape '\' or deliveries.send_result in ('err_will_retry', 'err_resend')
            as is_attempted
    from deliveries
    left join campaigns using (campaign_id)
    left join first_clicks using (campaign_id, email)
    where deliveries.email is not null
),

events as (
    select campaign_id, email, email_raw, 'sent' as event_type, sent_at as event_at
    from classified where is_attempted or is_bounce or is_delivered
    union all
    select campaign_id, email, email_raw, 'delivered', least(status_changed_at, coalesce(clicked_at, status_changed_at))
    from classified where is_delivered
    union all
    select campaign_id, email, email_raw, 'opened', least(status_changed_at, coalesce(clicked_at, status_changed_at))
    from classified where is_opened
    union all
    select campaign_id, email, email_raw, 'clicked', coalesce(clicked_at, status_changed_at)
    from classified where is_clicked
    union all
    select campaign_id, email, email_raw, 'unsubscribed', status_changed_at
    from classified where is_unsubscribed
    union all
    select campaign_id, email, email_raw, 'bounced', status_changed_at
    from classified where is_bounce
),

final as (
    select
        'unisender' as source_system,
        cast(campaign_id as varchar) as campaign_id,
        cast(email_raw as varchar) as email_raw,
        cast(email as varchar) as email,
        cast(event_type as varchar) as event_type,
        cast(event_at as timestamp) as event_at
    from events
)

select * from final
