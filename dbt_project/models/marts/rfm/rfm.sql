-- Grain: one row per customer with at least one completed order. Recency = whole days from the
-- last completed order to the as-of date; frequency = completed orders; monetary = net revenue.
-- Scores 1-5 by quintile (cume_dist, so equal values get equal scores); the score-to-segment map
-- is the seed rfm_segment_map, which the business may edit.
with orders as (
    select * from {{ ref('fct_orders') }} where is_completed and customer_id is not null
),

as_of as (
    {% if var('rfm_as_of') %}
    select cast('{{ var("rfm_as_of") }}' as date) as as_of_date
    {% else %}
    select cast(max(ordered_at) as date) as as_of_date from {{ ref('fct_orders') }}
    {% endif %}
),

per_customer as (
    select
        customer_id,
        max(ordered_at) as last_purchase_at,
        count(*) as frequency,
        sum(net_revenue) as monetary
    from orders
    group by 1
),

with_recency as (
    select
        per_customer.*,
        as_of.as_of_date,
        date_diff('day', cast(last_purchase_at as date), as_of.as_of_date) as recency_days
    from per_customer cross join as_of
),

scored as (
    select *, {{ rfm_scores('as_of_date') }}
    from with_recency
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
        scored.last_purchase_at,
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
