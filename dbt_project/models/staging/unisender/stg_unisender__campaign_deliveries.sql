with source as (
    select * from {{ source('unisender', 'campaign_deliveries') }}
),

renamed as (
    select
        cast(campaign_id as varchar) as campaign_id,
        {{ normalize_email('email') }} as email,
        send_result,
        timezone('UTC', last_update) as status_changed_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
