with source as (
    select * from {{ source('unisender', 'campaigns') }}
),

renamed as (
    select
        cast(id as varchar) as campaign_id,
        -- A Unisender campaign has no name of its own; the letter's subject is what people see.
        subject as campaign_name,
        timezone('UTC', start_time) as sent_at,
        status as campaign_status,
        status in ('completed', 'stopped', 'canceled', 'declined') as is_final,
        cast(list_id as varchar) as list_id,
        cast(message_id as varchar) as message_id,
        sender_email,
        _dlt_load_id as load_id
    from source
)

select * from renamed
