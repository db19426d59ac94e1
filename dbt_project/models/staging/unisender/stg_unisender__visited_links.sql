with source as (
    select * from {{ raw_table('unisender', 'visited_links') }}
),

renamed as (
    select
        cast(campaign_id as varchar) as campaign_id,
        {{ normalize_email('email') }} as email,
        url,
        timezone('UTC', request_time) as first_visited_at,
        cast("count" as integer) as visit_count,
        _dlt_load_id as load_id
    from source
)

select * from renamed
