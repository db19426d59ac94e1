-- The `consent_events` shape for Sendsay: list memberships (grants) and the stop-list (revocations).
-- Each event is about the member's own address of the channel, which Sendsay names (the member's
-- e-mail; the anketa's phone for SMS), so address_raw carries it: a revocation stops every send to
-- that address whatever other records say.
with members as (
    select * from {{ ref('stg_sendsay__members') }}
),

sendsay_subscriptions as (
    select
        member_record_id as source_record_id,
        'email' as channel,
        email_raw as address_raw,
        email_subscribed_at as event_at,
        'granted' as event_kind,
        'member of the e-mail list (-group)' as evidence,
        false as is_standing_revocation
    from members
    where email_subscribed
    union all
    select
        member_record_id, 'sms', phone_raw, sms_subscribed_at, 'granted',
        'member of the SMS list (-group)', false
    from members
    where sms_subscribed
),

sendsay_unsubscribes as (
    -- The stop-list "unsubscribed from all": it covers every channel and stands while the member
    -- is on it (Sendsay lets only a small share of self-unsubscribed addresses be taken off).
    select
        members.member_record_id,
        channel.name,
        case channel.name when 'email' then members.email_raw when 'sms' then members.phone_raw end,
        members.email_unsubscribed_at,
        'revoked',
        'stop-list: unsubscribed from all (member.haslock)',
        true
    from members
    cross join (values ('email'), ('sms')) as channel(name)
    where members.is_on_stop_list and members.email_unsubscribed_at is not null
),

unioned as (
    select * from sendsay_subscriptions
    union all
    select * from sendsay_unsubscribes
),

final as (
    select
        'sendsay' as source_system,
        source_record_id,
        channel,
        address_raw,
        event_at,
        event_kind,
        evidence,
        is_standing_revocation
    from unioned
)

select * from final
