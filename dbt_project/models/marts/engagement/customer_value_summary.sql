-- Grain: one row per source system that sells, plus 'all'. Buyers = customers with a completed
-- order; repeat_purchase_share = buyers with more than one completed order / buyers; historical
-- LTV = net revenue to date per buyer (mean and median).
with orders as (
    select customer_id, source_system, net_revenue
    from {{ ref('fct_orders') }}
    where is_completed and customer_id is not null
),

per_customer as (
    select customer_id, source_system, count(*) as orders, sum(net_revenue) as revenue from orders group by 1, 2
    union all
    select customer_id, 'all', count(*), sum(net_revenue) from orders group by 1
),

final as (
    select
        source_system,
        count(*) as buyers,
        count(*) filter (where orders > 1) as repeat_buyers,
        count(*) filter (where orders > 1) / count(*) as repeat_purchase_share,
        cast(round(avg(revenue), 2) as decimal(38, 2)) as mean_ltv,
        cast(round(median(revenue), 2) as decimal(38, 2)) as median_ltv,
        sum(revenue) as revenue
    from per_customer
    group by 1
)

select * from final
