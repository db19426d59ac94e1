-- Grain: one row per run (dbt invocation) that built the value models: the as-of date, horizon,
-- the fitted parameters of BG/NBD (r, alpha, a, b; time in weeks) and Gamma-Gamma (p, q, v), the
-- calibration fit's BG/NBD parameters, how many customers each fit saw, how long it took, and the
-- holdout check in one figure (predicted / actual purchases over all customers). Appended per run.
-- fit_seconds is 0 and the status says "kept" when the run used a fit kept from earlier the same as-of date.
{{ config(materialized='incremental', unique_key='run_id', on_schema_change='fail') }}
with fitted as (
    -- A fit kept from an earlier run of the same as-of date says so (int_value_models_fitted).
    select *, case when kept then ', kept from the fit at ' || strftime(fitted_at, '%Y-%m-%d %H:%M:%S') || ' UTC' else '' end as kept_from
    from {{ ref('int_value_models_fitted') }}
),

holdout as (
    select
        sum(holdout_predicted_purchases) as holdout_predicted_purchases,
        sum(holdout_actual_purchases) as holdout_actual_purchases
    from {{ ref('int_customer_values_scored') }}
    where period = 'calibration'
),

periods as (
    select
        max(cutoff_date) filter (where period = 'current') as as_of_date,
        max(cutoff_date) filter (where period = 'calibration') as calibration_end_date
    from {{ ref('int_purchase_summaries') }}
),

pivoted as (
    select
        max(value) filter (where model = 'bgnbd' and period = 'current' and parameter = 'r') as bgnbd_r,
        max(value) filter (where model = 'bgnbd' and period = 'current' and parameter = 'alpha') as bgnbd_alpha,
        max(value) filter (where model = 'bgnbd' and period = 'current' and parameter = 'a') as bgnbd_a,
        max(value) filter (where model = 'bgnbd' and period = 'current' and parameter = 'b') as bgnbd_b,
        max(value) filter (where model = 'gamma_gamma' and parameter = 'p') as gamma_gamma_p,
        max(value) filter (where model = 'gamma_gamma' and parameter = 'q') as gamma_gamma_q,
        max(value) filter (where model = 'gamma_gamma' and parameter = 'v') as gamma_gamma_v,
        max(value) filter (where model = 'bgnbd' and period = 'calibration' and parameter = 'r') as calibration_r,
        max(value) filter (where model = 'bgnbd' and period = 'calibration' and parameter = 'alpha') as calibration_alpha,
        max(value) filter (where model = 'bgnbd' and period = 'calibration' and parameter = 'a') as calibration_a,
        max(value) filter (where model = 'bgnbd' and period = 'calibration' and parameter = 'b') as calibration_b,
        max(customers) filter (where model = 'bgnbd' and period = 'current') as bgnbd_customers,
        max(customers) filter (where model = 'gamma_gamma') as gamma_gamma_customers,
        max(customers) filter (where model = 'bgnbd' and period = 'calibration') as calibration_customers,
        sum(fit_seconds) as fit_seconds,
        string_agg(distinct model || ' (' || period || '): ' || status || kept_from, '; '
                   order by model || ' (' || period || '): ' || status || kept_from) as status
    from fitted
),

final as (
    select
        '{{ invocation_id }}' as run_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as run_started_at,
        periods.as_of_date,
        {{ var('value_horizon_months', 12) }} as horizon_months,
        periods.calibration_end_date,
        pivoted.*,
        holdout.holdout_predicted_purchases,
        holdout.holdout_actual_purchases,
        holdout.holdout_predicted_purchases / nullif(holdout.holdout_actual_purchases, 0) as holdout_predicted_to_actual
    from pivoted
    cross join periods
    cross join holdout
)

select * from final
