-- Grain: one row per consent event (customer, channel, source, time, kind). Every source that
-- knows something about a person's consent contributes; nothing here decides, consent_current does.
with identity as (
    select record_key, customer_id from {{ ref('customer_identity_map') }}
),

crm_subscriptions as (
    select
        'retailcrm:' || customer_record_id as record_key,
        case when channel in ('waba', 'whatsapp', 'telegram', 'viber', 'vk') then 'messengers' else channel end as channel,
        'retailcrm' as source_system,
        changed_at as event_at,
        case when is_subscribed then 'granted' else 'revoked' end as event_kind,
        'customerSubscriptions.' || subscription_code as evidence,
        false as is_standing_revocation
    from {{ ref('stg_retailcrm__customer_subscriptions') }}
),

crm_unsubscribed as (
    select
        'retailcrm:' || customer_record_id, 'email', 'retailcrm', email_marketing_unsubscribed_at,
        'revoked', 'emailMarketingUnsubscribedAt', false
    from {{ ref('stg_retailcrm__customers') }}
    where email_marketing_unsubscribed_at is not null
),

crm_ads_consent as (
    select
        'retailcrm:' || customer_record_id, 'ads', 'retailcrm', ads_consent_changed_at,
        case when ads_consent then 'granted' else 'revoked' end,
        'customFields.ads_consent=' || cast(ads_consent as varchar), false
    from {{ ref('stg_retailcrm__customers') }}
    where ads_consent is not null
),

sheet_consent as (
    select
        'spreadsheets:' || member_record_id, 'email', 'spreadsheets', email_consent_at,
        'granted', 'consent column in ' || source_file || ' (' || source_position || ')', false
    from {{ ref('stg_spreadsheets__members') }}
    where has_email_consent and email_consent_at is not null
),

esp_status as (
    select
        'unisender:' || contact_record_id, 'email', 'unisender',
        case when is_unsubscribed then observed_at else added_at end,
        case when is_unsubscribed then 'revoked' else 'double_opt_in_confirmed' end,
        'email_status=' || email_status,
        -- Only the person can undo an unsubscribe in the mailing tool, so it stands until they do.
        is_unsubscribed
    from {{ ref('stg_unisender__contacts') }}
    where email_status in ('active', 'unsubscribed')
),

esp_campaign_unsubscribes as (
    -- The unsubscribe link in a campaign, dated by Unisender's status change. It stands unless the
    -- contact is active again (only the person can undo it, through the activation link).
    select
        'unisender:' || events.email, 'email', 'unisender', events.event_at, 'revoked',
        'campaign ' || events.campaign_id || ' send_result=ok_unsubscribed',
        coalesce(contacts.email_status <> 'active', true)
    from {{ ref('stg_unisender__message_events') }} as events
    left join {{ ref('stg_unisender__contacts') }} as contacts on contacts.contact_record_id = events.email
    where events.event_type = 'unsubscribed'
),

sendsay_subscriptions as (
    select
        'sendsay:' || member_record_id, 'email', 'sendsay', email_subscribed_at, 'granted',
        'member of the e-mail list (-group)', false
    from {{ ref('stg_sendsay__members') }}
    where email_subscribed
    union all
    select
        'sendsay:' || member_record_id, 'sms', 'sendsay', sms_subscribed_at, 'granted',
        'member of the SMS list (-group)', false
    from {{ ref('stg_sendsay__members') }}
    where sms_subscribed
),

sendsay_unsubscribes as (
    -- The stop-list "unsubscribed from all": it covers every channel and stands while the member
    -- is on it (Sendsay lets only a small share of self-unsubscribed addresses be taken off).
    select
        'sendsay:' || member_record_id, channel.name, 'sendsay', email_unsubscribed_at, 'revoked',
        'stop-list: unsubscribed from all (member.haslock)', true
    from {{ ref('stg_sendsay__members') }}
    cross join (values ('email'), ('sms')) as channel(name)
    where is_on_stop_list and email_unsubscribed_at is not null
),

unioned as (
    select * from crm_subscriptions
    union all select * from crm_unsubscribed
    union all select * from crm_ads_consent
    union all select * from sheet_consent
    union all select * from esp_status
    union all select * from esp_campaign_unsubscribes
    union all select * from sendsay_subscriptions
    union all select * from sendsay_unsubscribes
),

final as (
    select
        md5(unioned.record_key || '|' || unioned.channel || '|' || unioned.evidence || '|' || coalesce(cast(unioned.event_at as varchar), '')) as consent_event_id,
        identity.customer_id,
        unioned.channel,
        unioned.source_system,
        unioned.record_key,
        unioned.event_at,
        unioned.event_kind,
        unioned.evidence,
        unioned.is_standing_revocation
    from unioned
    join identity using (record_key)
    where unioned.event_at is not null
)

select * from final
