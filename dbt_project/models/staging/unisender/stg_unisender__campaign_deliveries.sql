with source as (
    select * from {{ raw_table('unisender', 'campaign_deliveries') }}
),

renamed as (
    select
        cast(campaign_id as varchar) as campaign_id,
        nullif(trim(email), '') as email_raw,
        {{ normalize_email('email') }} as email,
        send_result,
        timezone('UTC', last_update) as status_changed_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
