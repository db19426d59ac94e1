-- The carts shape: one row per shopping cart the shop's site pushed to RetailCRM (its current state
-- when last read). Cart times carry an offset, unlike the rest of the API, so they are converted
-- as such. An abandoned cart is open (not cleared) with no order.
with source as (
    select * from {{ raw_table('retailcrm', 'carts') }}
),

renamed as (
    select
        external_id as cart_id,
        cast(customer_id as varchar) as customer_record_id,
        timezone('UTC', try_cast(created_at as timestamptz)) as created_at,
        timezone('UTC', try_cast(updated_at as timestamptz)) as updated_at,
        timezone('UTC', try_cast(dropped_at as timestamptz)) as dropped_at,
        timezone('UTC', try_cast(cleared_at as timestamptz)) as cleared_at,
        currency,
        cast(coalesce(json_array_length(items), 0) as integer) as items_count,
        cast(coalesce(list_sum(list_transform(from_json(items, '["json"]'),
            lambda i: cast(i->>'$.quantity' as decimal(18, 3)))), 0) as decimal(18, 3)) as items_quantity,
        cast(coalesce(list_sum(list_transform(from_json(items, '["json"]'),
            lambda i: cast(i->>'$.quantity' as decimal(18, 3)) * cast(i->>'$.price' as decimal(18, 2)))), 0) as decimal(18, 2)) as cart_amount,
        cast("order"->>'$.id' as varchar) as order_id,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        'retailcrm' as source_system,
        *,
        order_id is not null as is_ordered,
        cleared_at is null as is_open
    from renamed
)

select * from final
