-- One row per order RetailCRM has or had, current state; deleted orders keep their last snapshot
-- with is_deleted. Money is decimal (the API's numbers arrive typed double by dlt; cast once, here).
-- The orders shape (stg_retailcrm__orders) is built from it.
with source as (
    select * from {{ raw_table('retailcrm', 'orders') }}
),

renamed as (
    select
        cast(id as varchar) as order_id,
        number as order_number,
        cast(customer->>'$.id' as varchar) as customer_record_id,
        -- `customer` (the buyer) is a corporate customer for a company's order; then `contact` is
        -- the person who placed it.
        customer->>'$.type' as customer_type,
        cast(contact->>'$.id' as varchar) as contact_customer_record_id,
        status,
        order_method,
        {{ local_to_utc('created_at', 'retailcrm') }} as ordered_at,
        {{ local_to_utc('status_updated_at', 'retailcrm') }} as status_updated_at,
        currency,
        cast(summ as decimal(18, 2)) as items_amount,
        cast(total_summ as decimal(18, 2)) as total_amount,
        cast(delivery->>'$.cost' as decimal(18, 2)) as delivery_cost,
        items,
        payments,
        coalesce(is_deleted, false) as is_deleted,
        {{ local_to_utc('deleted_at', 'retailcrm') }} as deleted_at,
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
