-- One row per shopping cart the shop's site pushed to RetailCRM (its current state when last
-- read). Cart times carry an offset, unlike the rest of the API, so they are converted as such.
with source as (
    select * from {{ source_if_loaded('retailcrm', 'carts', {
        'external_id': 'varchar', 'customer_id': 'bigint', 'created_at': 'varchar', 'updated_at': 'varchar',
        'dropped_at': 'varchar', 'cleared_at': 'varchar', 'currency': 'varchar', 'items': 'json', 'order': 'json',
        '_dlt_load_id': 'varchar'}) }}
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
        coalesce(json_array_length(items), 0) as items_count,
        coalesce(list_sum(list_transform(from_json(items, '["json"]'), lambda i: cast(i->>'$.quantity' as double))), 0) as items_quantity,
        coalesce(list_sum(list_transform(from_json(items, '["json"]'),
            lambda i: cast(i->>'$.quantity' as double) * cast(i->>'$.price' as double))), 0) as cart_amount,
        cast("order"->>'$.id' as varchar) as order_id,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        *,
        order_id is not null as is_ordered,
        cleared_at is null as is_open
    from renamed
)

select * from final
