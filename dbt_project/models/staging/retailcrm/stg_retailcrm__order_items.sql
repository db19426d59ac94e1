-- The order_items shape: one row per line of an order in stg_retailcrm__orders (deleted orders'
-- lines are left out with them). unit_discount is RetailCRM's discountTotal: the whole discount on
-- one unit. Quantities and prices are cast from the JSON text straight to decimal.
with orders as (
    select order_id, items from {{ ref('stg_retailcrm__all_orders') }}
    where not is_deleted
),

unnested as (
    select order_id, unnest(from_json(items, '["json"]')) as item
    from orders
    where json_array_length(items) > 0
),

renamed as (
    select
        order_id,
        cast(item->>'$.id' as varchar) as order_item_id,
        item->>'$.offer.article' as article,
        coalesce(item->>'$.productName', item->>'$.offer.name') as product_name,
        cast(item->>'$.quantity' as decimal(18, 3)) as quantity,
        cast(item->>'$.initialPrice' as decimal(18, 2)) as unit_price,
        coalesce(cast(item->>'$.discountTotal' as decimal(18, 2)), 0) as unit_discount,
        item->>'$.status' as item_status
    from unnested
),

final as (
    select
        'retailcrm' as source_system,
        order_id as source_order_id,
        *
    from renamed
)

select * from final
