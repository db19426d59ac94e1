-- The orders shape: one row per order RetailCRM has (deleted orders are left out). Net amount is
-- the items after discounts, without delivery: the order lines' sum, or the order's own items
-- amount (`summ`) when it lists no lines. The mart counts it as revenue for completed orders only,
-- so status_group must be right.
with orders as (
    select * from {{ ref('stg_retailcrm__all_orders') }}
    where not is_deleted
),

items as (
    select * from {{ ref('stg_retailcrm__order_items') }}
),

items_net as (
    select order_id, cast(sum((unit_price - unit_discount) * quantity) as decimal(18, 2)) as items_net_amount
    from items
    group by 1
),

final as (
    select
        'retailcrm' as source_system,
        orders.order_id as source_order_id,
        orders.order_number,
        'retailcrm' as customer_source_system,
        -- A corporate customer's order is the company's, and a company is not a person record: the
        -- order names no person (as before, when its id matched no individual customer).
        case when coalesce(orders.customer_type, 'customer') <> 'customer_corporate' then orders.customer_record_id end as customer_record_id,
        -- The buyer is always named by record; the order's contact fields were never used to find it.
        cast(null as varchar) as customer_phone_raw,
        cast(null as varchar) as customer_email_raw,
        {{ business_date('orders.ordered_at') }} as ordered_date,
        orders.ordered_at,
        orders.status,
        orders.status_group,
        orders.total_amount,
        coalesce(items_net.items_net_amount, orders.items_amount) as net_amount,
        orders.order_id,
        orders.customer_type,
        orders.contact_customer_record_id,
        orders.order_method,
        orders.currency,
        orders.delivery_cost
    from orders
    left join items_net using (order_id)
)

select * from final
