with source as (
    select * from {{ source('retailcrm', 'orders') }}
),

renamed as (
    select
        cast(id as varchar) as order_id,
        number as order_number,
        cast(customer->>'$.id' as varchar) as customer_record_id,
        status,
        order_method,
        {{ local_to_utc('created_at', var('retailcrm_timezone')) }} as ordered_at,
        {{ local_to_utc('status_updated_at', var('retailcrm_timezone')) }} as status_updated_at,
        currency,
        cast(summ as double) as items_amount,
        cast(total_summ as double) as total_amount,
        cast(delivery->>'$.cost' as double) as delivery_cost,
        items,
        payments,
        coalesce(is_deleted, false) as is_deleted,
        {{ local_to_utc('deleted_at', var('retailcrm_timezone')) }} as deleted_at,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        *,
        case
            when status in ('complete') then 'completed'
            when status in ('return') then 'returned'
            when status like 'cancel%' or status in ('no-call', 'no-product', 'already-buyed', 'delyvery-did-not-suit', 'prices-did-not-suit') then 'cancelled'
            else 'in_progress'
        end as status_group
    from renamed
)

select * from final
