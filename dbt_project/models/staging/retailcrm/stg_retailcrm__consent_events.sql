-- The consent_events shape: channel subscriptions (customerSubscriptions), the e-mail marketing
-- unsubscribe mark (emailMarketingUnsubscribedAt) and the separate advertising consent (the shop's
-- custom field). Deleted customers' events stay: a revocation outlives the record.
with customers as (
    select * from {{ ref('stg_retailcrm__customers') }}
),

subscriptions as (
    select * from {{ ref('stg_retailcrm__customer_subscriptions') }}
),

crm_subscriptions as (
    select
        customer_record_id,
        -- One consent covers every messenger RetailCRM can write through.
        case when channel in ('waba', 'whatsapp', 'telegram', 'viber', 'vk') then 'messengers' else channel end as channel,
        cast(null as varchar) as address_raw,
        changed_at as event_at,
        case when is_subscribed then 'granted' else 'revoked' end as event_kind,
        'customerSubscriptions.' || subscription_code as evidence,
        false as is_standing_revocation
    from subscriptions
),

crm_unsubscribed as (
    -- The customer unsubscribed their e-mail from marketing: a revocation of that address.
    select
        customer_record_id, 'email', email_raw, email_marketing_unsubscribed_at,
        'revoked', 'emailMarketingUnsubscribedAt', false
    from customers
    where email_marketing_unsubscribed_at is not null
),

crm_ads_consent as (
    select
        customer_record_id, 'ads', cast(null as varchar), ads_consent_changed_at,
        case when ads_consent then 'granted' else 'revoked' end,
        'customFields.ads_consent=' || cast(ads_consent as varchar), false
    from customers
    where ads_consent is not null
),

unioned as (
    select * from crm_subscriptions
    union all select * from crm_unsubscribed
    union all select * from crm_ads_consent
),

final as (
    select
        'retailcrm' as source_system,
        customer_record_id as source_record_id,
        channel,
        address_raw,
        event_at,
        event_kind,
        evidence,
        is_standing_revocation
    from unioned
)

select * from final
