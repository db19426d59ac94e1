with orders as (
    select order_id, items from {{ ref('stg_retailcrm__orders') }}
),

unnested as (
    select order_id, unnest(from_json(items, '["json"]')) as item
    from orders
    where json_array_length(items) > 0
),

final as (
    select
        order_id,
        cast(item->>'$.id' as varchar) as order_item_id,
        item->>'$.offer.article' as article,
        coalesce(item->>'$.productName', item->>'$.offer.name') as product_name,
        cast(item->>'$.quantity' as double) as quantity,
        cast(item->>'$.initialPrice' as double) as unit_price,
        coalesce(cast(item->>'$.discountTotal' as double), 0) as unit_discount,
        item->>'$.status' as item_status
    from unnested
)

select * from final
