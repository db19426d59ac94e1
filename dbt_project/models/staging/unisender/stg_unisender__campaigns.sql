-- One row per Unisender campaign; also the `campaigns` cross-system shape (source_system,
-- campaign_id, campaign_name, sent_at).
with source as (
    select * from {{ raw_table('unisender', 'campaigns') }}
),

renamed as (
    select
        'unisender' as source_system,
        cast(id as varchar) as campaign_id,
        -- A Unisender campaign has no name of its own; the letter's subject is what people see.
        subject as campaign_name,
        -- Typed by the connector from Unisender's UTC text: the UTC wall clock, without the zone.
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
