-- One row per change RetailCRM journaled for an order (field-level diff). Payment changes name
-- the payment in `payment`; the created item's snapshot lists the order's payments.
with source as (
    select * from {{ raw_table('retailcrm', 'orders_history') }}
),

renamed as (
    select
        cast(id as varchar) as history_id,
        cast("order"->>'$.id' as varchar) as order_id,
        {{ local_to_utc('created_at', 'retailcrm') }} as changed_at,
        field,
        cast(old_value as json) as old_value,
        cast(new_value as json) as new_value,
        cast(payment->>'$.id' as varchar) as payment_id,
        source as change_source,
        coalesce(created, false) as is_created,
        coalesce(deleted, false) as is_deleted,
        _dlt_load_id as load_id
    from source
)

select * from renamed
