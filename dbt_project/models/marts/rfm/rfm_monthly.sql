-- Grain: one row per customer and month end (the last `rfm_history_months` month ends up to the
-- as-of date) for customers who had bought by then. Each month is scored as `rfm` would have
-- scored it on that day: only orders placed up to the month end count, quintiles are taken
-- among that month's customers. Recomputed from the orders each run, so history is available from
-- day one and a late return corrects the months it belongs to; analysts read movements between
-- segments from rfm_segment_movements.
with orders as (
    select customer_id, ordered_date, net_revenue
    from {{ ref('fct_orders') }}
    where is_completed and customer_id is not null
),

as_of as (
    select max(as_of_date) as as_of_date from {{ ref('rfm') }}
),

month_ends as (
    select distinct least(cast(months.month_start + interval 1 month - interval 1 day as date), as_of.as_of_date) as as_of_date
    from as_of,
        range(
            cast(date_trunc('month', as_of.as_of_date) - to_months({{ var('rfm_history_months') }} - 1) as timestamp),
            cast(date_trunc('month', as_of.as_of_date) + interval 1 month as timestamp),
            interval 1 month
        ) as months(month_start)
),

bounds as (
    select min(as_of_date) as first_end, max(as_of_date) as last_end from month_ends
),

-- Each order is counted once, in the first month end on or after it (the window's first for
-- older orders), and a month end sums the buckets up to it: the range join runs over customer
-- months, not over every order once per month end (each order twelve times, by default).
buckets as (
    select
        orders.customer_id,
        greatest(bounds.first_end, least(last_day(orders.ordered_date), bounds.last_end)) as bucket_end,
        max(orders.ordered_date) as last_purchase_date,
        count(*) as frequency,
        sum(orders.net_revenue) as monetary
    from orders, bounds
    where orders.ordered_date <= bounds.last_end
    group by 1, 2
),

per_customer as (
    select
        month_ends.as_of_date,
        buckets.customer_id,
        max(buckets.last_purchase_date) as last_purchase_date,
        cast(sum(buckets.frequency) as bigint) as frequency,
        sum(buckets.monetary) as monetary
    from month_ends
    join buckets on buckets.bucket_end <= month_ends.as_of_date
    group by 1, 2
),

with_recency as (
    select *, date_diff('day', last_purchase_date, as_of_date) as recency_days
    from per_customer
),

scored as (
    {{ rfm_scored('with_recency', 'as_of_date') }}
),

segment_map as (
    select r_score, fm_score, segment from {{ ref('rfm_segment_map') }}
),

final as (
    select
        scored.customer_id,
        scored.as_of_date,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        segment_map.segment as rfm_segment
    from scored
    left join segment_map
        on segment_map.r_score = scored.r_score
        and segment_map.fm_score = {{ rfm_fm_score('scored.f_score', 'scored.m_score') }}
)

select * from final
