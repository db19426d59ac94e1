-- Grain: one row per customer with at least one completed order. Recency = whole days from the
-- last completed order to the as-of date (business-local dates: a date-only order is that date);
-- frequency = completed orders up to the as-of date; monetary = their net revenue (decimal).
-- The as-of date is the business configuration's rfm.as_of, default today in its time zone.
-- Scores 1-5 by quintile (cume_dist, so equal values get equal scores); the score-to-segment map
-- is the seed rfm_segment_map, which the business may edit.
with as_of as (
    select {{ as_of_date() }} as as_of_date
),

orders as (
    select orders.*
    from {{ ref('fct_orders') }} as orders
    cross join as_of
    where orders.is_completed and orders.customer_id is not null and orders.ordered_date <= as_of.as_of_date
),

per_customer as (
    select
        customer_id,
        max(ordered_date) as last_purchase_date,
        count(*) as frequency,
        sum(net_revenue) as monetary
    from orders
    group by 1
),

with_recency as (
    select
        per_customer.*,
        as_of.as_of_date,
        date_diff('day', last_purchase_date, as_of.as_of_date) as recency_days
    from per_customer cross join as_of
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
        scored.last_purchase_date,
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
