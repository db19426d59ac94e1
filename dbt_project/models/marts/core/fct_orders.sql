-- Grain: one row per order. Net revenue counts completed orders only, items after discounts and
-- without delivery; cancelled and returned orders carry zero net revenue.
with orders as (
    select * from {{ ref('stg_retailcrm__orders') }}
),

items as (
    select order_id, sum((unit_price - unit_discount) * quantity) as items_net_amount
    from {{ ref('stg_retailcrm__order_items') }}
    group by 1
),

identity as (
    select source_record_id, customer_id from {{ ref('customer_identity_map') }} where source_system = 'retailcrm'
),

final as (
    select
        orders.order_id,
        orders.order_number,
        identity.customer_id,
        orders.customer_record_id,
        orders.ordered_at,
        orders.status,
        orders.status_group,
        orders.status_group = 'completed' as is_completed,
        orders.total_amount,
        coalesce(items.items_net_amount, orders.items_amount) as items_net_amount,
        case when orders.status_group = 'completed' then coalesce(items.items_net_amount, orders.items_amount) else 0 end as net_revenue
    from orders
    left join items using (order_id)
    left join identity on identity.source_record_id = orders.customer_record_id
)

select * from final
