-- Lines of the 1C sales offered as orders (stg_onec__orders: deleted and undated documents are
-- not orders, so neither are their lines). The loaded Товары lines carry no discount columns and
-- Сумма = Количество × Цена on them, so the unit discount is zero; `line_amount` is 1C's own sum.
with items as (
    select * from {{ ref('stg_onec__sale_items') }}
),

orders as (
    select source_order_id from {{ ref('stg_onec__orders') }}
),

products as (
    select product_id, article, product_name from {{ ref('stg_onec__products') }}
),

final as (
    select
        'onec' as source_system,
        items.sale_id as source_order_id,
        items.sale_item_id as order_item_id,
        products.article,
        products.product_name,
        items.quantity,
        items.unit_price,
        cast(0 as decimal(18, 2)) as unit_discount,
        items.amount as line_amount,
        items.product_id
    from items
    inner join orders on orders.source_order_id = items.sale_id
    left join products using (product_id)
)

select * from final
