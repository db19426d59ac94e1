-- Grain: one row per customer with a completed order up to the as-of date. Predicted purchases and
-- revenue over the horizon (var value_horizon_months) from BG/NBD + Gamma-Gamma fitted this run
-- (int_value_models_fitted), the probability the customer is still active now and as of a month
-- earlier, and a value tier by predicted revenue (top value_high_value_share "high", the next 30 %
-- "medium", the rest "low"). Predictions are null, and model_status says why, when the model could
-- not be fitted. The usual gap between purchases (recency / repeat purchases) gives the date the
-- next purchase is due.
with summaries as (
    select * from {{ ref('int_purchase_summaries') }} where period in ('current', 'month_ago')
),

scores as (
    select * from {{ ref('int_customer_values_scored') }} where period in ('current', 'month_ago')
),

status as (
    select string_agg(distinct model || ': ' || status, '; ' order by model || ': ' || status) as model_status
    from {{ ref('int_value_models_fitted') }}
    where period = 'current'
),

current_scores as (
    select
        summaries.customer_id,
        summaries.cutoff_date as as_of_date,
        summaries.first_purchase_date,
        summaries.last_purchase_date,
        summaries.frequency as repeat_purchases,
        summaries.recency as recency_weeks,
        summaries."T" as tenure_weeks,
        scores.expected_purchases,
        scores.expected_purchases_30d,
        scores.probability_alive,
        scores.expected_purchase_value,
        scores.predicted_revenue
    from summaries
    join scores using (customer_id, period)
    where summaries.period = 'current'
),

month_ago as (
    select customer_id, probability_alive as probability_alive_month_ago
    from scores
    where period = 'month_ago'
),

ranked as (
    select
        current_scores.*,
        month_ago.probability_alive_month_ago,
        case when predicted_revenue is not null
             then cume_dist() over (partition by predicted_revenue is null order by predicted_revenue desc) end as revenue_rank_share
    from current_scores
    left join month_ago using (customer_id)
),

final as (
    select
        ranked.customer_id,
        ranked.as_of_date,
        {{ var('value_horizon_months', 12) }} as horizon_months,
        ranked.first_purchase_date,
        ranked.last_purchase_date,
        ranked.repeat_purchases,
        ranked.recency_weeks,
        ranked.tenure_weeks,
        ranked.expected_purchases,
        ranked.expected_purchases_30d,
        ranked.probability_alive,
        ranked.probability_alive_month_ago,
        ranked.probability_alive - ranked.probability_alive_month_ago as probability_alive_change,
        cast(round(ranked.expected_purchase_value, 2) as decimal(18, 2)) as expected_purchase_value,
        cast(round(ranked.predicted_revenue, 2) as decimal(18, 2)) as predicted_revenue,
        case
            when ranked.revenue_rank_share is null then null
            when ranked.revenue_rank_share <= {{ var('value_high_value_share', 0.2) }} then 'high'
            when ranked.revenue_rank_share <= {{ var('value_high_value_share', 0.2) }} + 0.3 then 'medium'
            else 'low'
        end as value_tier,
        case when ranked.repeat_purchases > 0
             then round(ranked.recency_weeks * 7 / ranked.repeat_purchases, 1) end as average_days_between_purchases,
        case when ranked.repeat_purchases > 0
             then ranked.last_purchase_date + cast(round(ranked.recency_weeks * 7 / ranked.repeat_purchases) as integer) end as next_purchase_due_date,
        '{{ var("currency", "RUB") }}' as currency,
        status.model_status
    from ranked
    cross join status
)

select * from final
