-- Grain: one row per consent event (customer, channel, source, time, kind). Every source that
-- knows something about a person's consent contributes; nothing here decides, consent_current does.
with identity as (
    select record_key, customer_id from {{ ref('customer_identity_map') }}
),

crm_subscriptions as (
    select
        'retailcrm:' || customer_record_id as record_key,
        channel,
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

unioned as (
    select * from crm_subscriptions
    union all select * from crm_unsubscribed
    union all select * from sheet_consent
    union all select * from esp_status
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
