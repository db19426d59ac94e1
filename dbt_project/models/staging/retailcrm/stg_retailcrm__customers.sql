-- One row per individual customer, current state. Names, e-mail and phones as the manager or the
-- site typed them (normalised centrally in intermediate); deleted customers keep their last snapshot.
with source as (
    select * from {{ raw_table('retailcrm', 'customers') }}
),

renamed as (
    select
        cast(id as varchar) as customer_record_id,
        nullif(external_id, '') as external_id,
        site,
        {{ local_to_utc('created_at', 'retailcrm') }} as created_at,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        nullif(trim(patronymic), '') as patronymic,
        sex,
        -- A date without a time: never given a zone.
        try_cast(birthday as date) as birth_date,
        nullif(trim(address->>'$.city'), '') as city,
        nullif(trim(email), '') as email_raw,
        phones,
        nullif(trim(custom_fields->>'$.loyalty_card'), '') as loyalty_card,
        -- The shop's user fields for the separate advertising consent (152-FZ art. 9): the tick
        -- and the date it last changed, account-local like every RetailCRM datetime.
        try_cast(custom_fields->>'$.ads_consent' as boolean) as ads_consent,
        {{ local_to_utc("custom_fields->>'$.ads_consent_at'", 'retailcrm') }} as ads_consent_changed_at,
        subscribed as is_subscribed_legacy,
        {{ local_to_utc('email_marketing_unsubscribed_at', 'retailcrm') }} as email_marketing_unsubscribed_at,
        customer_subscriptions,
        coalesce(is_deleted, false) as is_deleted,
        {{ local_to_utc('deleted_at', 'retailcrm') }} as deleted_at,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        customer_record_id,
        external_id,
        site,
        created_at,
        first_name,
        last_name,
        patronymic,
        sex,
        birth_date,
        city,
        email_raw,
        case when {{ email_issue('email_raw') }} is null then {{ normalize_email('email_raw') }} end as email,
        {{ email_issue('email_raw') }} as email_issue,
        phones,
        loyalty_card,
        ads_consent,
        ads_consent_changed_at,
        is_subscribed_legacy,
        email_marketing_unsubscribed_at,
        customer_subscriptions,
        is_deleted,
        deleted_at,
        load_id
    from renamed
)

select * from final
