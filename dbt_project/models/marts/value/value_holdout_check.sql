-- Grain: one row per run and calibration-period frequency bucket (repeat purchases 0..6, then
-- '7+'). The calibration fit (BG/NBD on the history up to value_holdout_months before the as-of
-- date) predicts each customer's purchases in the holdout period; beside them, the purchases that
-- happened. A ratio far from 1 in a bucket with many customers means the model is off there.
-- Appended per run (keyed by dbt's invocation id), so the history of checks stays.
{{ config(materialized='incremental', unique_key=['run_id', 'frequency_bucket'], on_schema_change='fail') }}
with summaries as (
    select customer_id, frequency, cutoff_date from {{ ref('int_purchase_summaries') }} where period = 'calibration'
),

scores as (
    select customer_id, holdout_predicted_purchases, holdout_actual_purchases
    from {{ ref('int_customer_values_scored') }}
    where period = 'calibration'
),

as_of as (
    select max(cutoff_date) as as_of_date from {{ ref('int_purchase_summaries') }} where period = 'current'
),

bucketed as (
    select
        case when summaries.frequency >= 7 then '7+' else cast(summaries.frequency as varchar) end as frequency_bucket,
        least(summaries.frequency, 7) as bucket_order,
        summaries.cutoff_date,
        scores.holdout_predicted_purchases,
        scores.holdout_actual_purchases
    from summaries
    join scores using (customer_id)
),

final as (
    select
        '{{ invocation_id }}' as run_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as run_started_at,
        any_value(as_of.as_of_date) as as_of_date,
        any_value(bucketed.cutoff_date) as calibration_end_date,
        bucketed.frequency_bucket,
        any_value(bucketed.bucket_order) as bucket_order,
        count(*) as customers,
        sum(bucketed.holdout_predicted_purchases) as predicted_purchases,
        sum(bucketed.holdout_actual_purchases) as actual_purchases,
        avg(bucketed.holdout_predicted_purchases) as predicted_per_customer,
        avg(bucketed.holdout_actual_purchases) as actual_per_customer,
        sum(bucketed.holdout_predicted_purchases) / nullif(sum(bucketed.holdout_actual_purchases), 0) as predicted_to_actual
    from bucketed
    cross join as_of
    group by bucketed.frequency_bucket
)

select * from final
