-- The `consent_events` shape for Unisender: the contact's status and the unsubscribe links used in
-- campaigns. Every event is about one e-mail address, which Unisender names (a contact IS an
-- address; a campaign's delivery row names its address), so address_raw is always set: a
-- revocation stops every send to that address whatever other records say.
with contacts as (
    select * from {{ ref('stg_unisender__contacts') }}
),

message_events as (
    select * from {{ ref('stg_unisender__message_events') }}
),

esp_status as (
    -- Unisender's export has no unsubscribe time: the opt-out is dated by the load that saw it.
    select
        contact_record_id as source_record_id,
        'email' as channel,
        email_raw as address_raw,
        case when is_unsubscribed then observed_at else added_at end as event_at,
        case when is_unsubscribed then 'revoked' else 'double_opt_in_confirmed' end as event_kind,
        'email_status=' || email_status as evidence,
        -- Only the person can undo an unsubscribe in the mailing tool, so it stands until they do.
        is_unsubscribed as is_standing_revocation
    from contacts
    where email_status in ('active', 'unsubscribed')
),

esp_campaign_unsubscribes as (
    -- The unsubscribe link in a campaign, dated by Unisender's status change. It stands unless the
    -- contact is active again (only the person can undo it, through the activation link).
    select
        -- The contact this address is (a contact's id is its lower-cased e-mail).
        message_events.email as source_record_id,
        'email' as channel,
        message_events.email_raw as address_raw,
        message_events.event_at,
        'revoked' as event_kind,
        'campaign ' || message_events.campaign_id || ' send_result=ok_unsubscribed' as evidence,
        coalesce(contacts.email_status <> 'active', true) as is_standing_revocation
    from message_events
    left join contacts on contacts.contact_record_id = message_events.email
    where message_events.event_type = 'unsubscribed'
),

unioned as (
    select * from esp_status
    union all
    select * from esp_campaign_unsubscribes
),

final as (
    select
        'unisender' as source_system,
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
