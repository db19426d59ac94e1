-- One row per change RetailCRM journaled for an individual customer (field-level diff).
with source as (
    select * from {{ raw_table('retailcrm', 'customers_history') }}
),

renamed as (
    select
        cast(id as varchar) as history_id,
        cast(customer->>'$.id' as varchar) as customer_record_id,
        {{ local_to_utc('created_at', 'retailcrm') }} as changed_at,
        field,
        cast(old_value as json) as old_value,
        cast(new_value as json) as new_value,
        source as change_source,
        coalesce(created, false) as is_created,
        coalesce(deleted, false) as is_deleted,
        _dlt_load_id as load_id
    from source
)

select * from renamed
