with source as (
    select * from {{ source('retailcrm', 'customers') }}
),

renamed as (
    select
        cast(id as varchar) as customer_record_id,
        nullif(external_id, '') as external_id,
        site,
        {{ local_to_utc('created_at', var('retailcrm_timezone')) }} as created_at,
        -- A manager sometimes types the whole name into firstName and leaves lastName empty.
        case when nullif(trim(last_name), '') is null and contains(trim(first_name), ' ')
             then person_name(first_name) end as glued_name,
        nullif(trim(first_name), '') as first_name_raw,
        nullif(trim(last_name), '') as last_name_raw,
        nullif(trim(patronymic), '') as patronymic_raw,
        sex,
        try_cast(birthday as date) as birth_date,
        email as email_raw,
        {{ normalize_email('email') }} as email_normalized,
        {{ email_issue('email') }} as email_issue,
        phones,
        custom_fields->>'$.loyalty_card' as loyalty_card,
        -- The shop's user fields for the separate advertising consent (152-FZ art. 9): the tick
        -- and the date it last changed, account-local like every RetailCRM datetime.
        try_cast(custom_fields->>'$.ads_consent' as boolean) as ads_consent,
        {{ local_to_utc("custom_fields->>'$.ads_consent_at'", var('retailcrm_timezone')) }} as ads_consent_changed_at,
        subscribed as is_subscribed_legacy,
        {{ local_to_utc('email_marketing_unsubscribed_at', var('retailcrm_timezone')) }} as email_marketing_unsubscribed_at,
        customer_subscriptions,
        coalesce(is_deleted, false) as is_deleted,
        {{ local_to_utc('deleted_at', var('retailcrm_timezone')) }} as deleted_at,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        customer_record_id,
        external_id,
        site,
        created_at,
        coalesce(glued_name.surname, last_name_raw) as surname,
        coalesce(glued_name.given_name, first_name_raw) as given_name,
        coalesce(glued_name.patronymic, patronymic_raw) as patronymic,
        sex,
        birth_date,
        email_raw,
        case when email_issue is null then email_normalized end as email,
        email_issue,
        phones,
        nullif(trim(loyalty_card), '') as loyalty_card,
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
