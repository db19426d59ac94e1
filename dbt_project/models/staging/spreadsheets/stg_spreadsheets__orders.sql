with source as (
    select * from {{ source('spreadsheets', 'orders') }}
),

renamed as (
    select
        record_id as order_record_id,
        order_number,
        mapping_name,
        source_file,
        source_sheet,
        try_cast(source_row as integer) as source_row,
        source_position,
        -- Till exports carry the store's wall-clock time with no offset.
        {{ local_to_utc('ordered_at', var('spreadsheets_timezone', 'Europe/Moscow')) }} as ordered_at,
        try_cast(amount as decimal(18, 2)) as amount,
        status,
        status_raw,
        nullif(trim(customer_record_id), '') as customer_record_id,
        nullif(regexp_replace(coalesce(customer_card, ''), '\s', '', 'g'), '') as customer_card,
        nullif(trim(customer_name), '') as customer_name_raw,
        nullif(trim(customer_phone), '') as customer_phone_raw,
        phone_e164(nullif(trim(customer_phone), '')) as customer_phone,
        phone_issue(nullif(trim(customer_phone), '')) as customer_phone_issue,
        {{ normalize_email('customer_email') }} as customer_email_normalized,
        {{ email_issue('customer_email') }} as customer_email_issue,
        store,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        order_record_id,
        order_number,
        mapping_name,
        source_file,
        source_sheet,
        source_row,
        source_position,
        ordered_at,
        amount,
        status,
        status_raw,
        case when status is null then 'status not in the mapping''s vocabulary' end as status_issue,
        -- The member this order names, as the identity models key it; the member row may be
        -- missing (quarantined, or a card the loyalty export does not list).
        case when customer_record_id is not null then 'spreadsheets:' || customer_record_id end as customer_record_key,
        customer_card,
        customer_name_raw,
        customer_phone_raw,
        customer_phone,
        customer_phone_issue,
        case when customer_email_issue is null then customer_email_normalized end as customer_email,
        customer_record_id is null and customer_phone is null and customer_email_normalized is null as is_anonymous,
        store,
        load_id
    from renamed
)

select * from final
