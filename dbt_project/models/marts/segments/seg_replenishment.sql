-- Lens and care-product buyers whose last purchase in a category is about to run out: the run-out
-- date (last purchase + units x days of supply per unit, seed product_categories) lies between
-- `replenishment_days_before` days ago and `replenishment_days_ahead` days ahead, and they have
-- not bought that category again since. One row per customer: the category that runs out first.
with items as (
    select source_system || ':' || source_order_id as order_id, article, quantity
    from {{ ref('int_order_items_unioned') }}
),

orders as (
    select order_id, customer_id, ordered_date
    from {{ ref('fct_orders') }}
    where is_completed and customer_id is not null
),

catalogue as (
    select * from {{ ref('product_categories') }} where days_of_supply_per_unit > 0
),

purchases as (
    select
        orders.customer_id,
        catalogue.product_category,
        orders.ordered_date,
        sum(items.quantity * catalogue.days_of_supply_per_unit) as days_of_supply
    from items
    join orders using (order_id)
    join catalogue using (article)
    group by 1, 2, 3
),

last_purchase as (
    select distinct on (customer_id, product_category)
        customer_id, product_category, ordered_date, days_of_supply,
        ordered_date + cast(days_of_supply as integer) as runs_out_on
    from purchases
    order by customer_id, product_category, ordered_date desc
),

due as (
    select distinct on (customer_id) *
    from last_purchase
    where runs_out_on between {{ segment_as_of() }} - to_days({{ var('replenishment_days_before') }})
                          and {{ segment_as_of() }} + to_days({{ var('replenishment_days_ahead') }})
    order by customer_id, runs_out_on, product_category
),

customers as (
    select * from {{ ref('customer_360') }}
),

final as (
    select customers.customer_id, customers.email, customers.phone, customers.given_name,
           due.product_category, due.runs_out_on
    from due
    join customers using (customer_id)
)

select * from final
