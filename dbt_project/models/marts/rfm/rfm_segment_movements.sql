-- Grain: one row per month end and (segment last month -> segment this month). 'New customer'
-- is the from-segment of customers who had not bought by the previous month end.
with monthly as (
    select customer_id, as_of_date, rfm_segment from {{ ref('rfm_monthly') }}
),

with_previous as (
    select
        customer_id,
        as_of_date,
        rfm_segment,
        lag(rfm_segment) over (partition by customer_id order by as_of_date) as previous_segment,
        lag(as_of_date) over (partition by customer_id order by as_of_date) as previous_as_of_date
    from monthly
),

first_month as (
    select min(as_of_date) as as_of_date from monthly
),

final as (
    select
        with_previous.as_of_date,
        coalesce(with_previous.previous_segment, 'New customer') as from_segment,
        with_previous.rfm_segment as to_segment,
        count(*) as customers
    from with_previous
    where with_previous.as_of_date > (select as_of_date from first_month)
    group by 1, 2, 3
)

select * from final
