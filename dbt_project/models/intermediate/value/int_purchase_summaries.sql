-- The per-customer summary BG/NBD and Gamma-Gamma are fitted on, computed here so that the model
-- never reads orders in Python. One row per customer and period:
--   current      as of the as-of date (scored: marts.customer_value)
--   month_ago    as of one month earlier (the same model's view then: a falling P(alive))
--   calibration  as of `value_holdout_months` before the as-of date, with the purchases made since
--                (holdout_purchases): the holdout check refits on these rows alone.
-- A purchase is a business-local day with a completed order (several orders on one day are one
-- purchase, as in Fader, Hardie & Lee). frequency = purchase days after the first; recency = weeks
-- from the first to the last purchase day; T = weeks from the first purchase day to the cutoff;
-- monetary_value = mean net revenue of the repeat purchase days (null for one-time buyers).
with as_of as (
    select {{ as_of_date() }} as as_of_date
),

periods as (
    select 'current' as period, as_of_date as cutoff_date, as_of_date from as_of
    union all
    select 'month_ago', cast(as_of_date - interval 1 month as date), as_of_date from as_of
    union all
    select 'calibration', cast(as_of_date - to_months({{ var('value_holdout_months', 6) }}) as date), as_of_date from as_of
),

purchase_days as (
    select customer_id, ordered_date as purchase_date, sum(net_revenue) as revenue
    from {{ ref('fct_orders') }}
    where is_completed and customer_id is not null
    group by 1, 2
),

in_period as (
    select
        periods.period, periods.cutoff_date, periods.as_of_date, purchase_days.customer_id,
        purchase_days.purchase_date, purchase_days.revenue
    from purchase_days
    join periods on purchase_days.purchase_date <= periods.cutoff_date
),

summarised as (
    select
        period, customer_id,
        any_value(cutoff_date) as cutoff_date,
        any_value(as_of_date) as as_of_date,
        min(purchase_date) as first_purchase_date,
        max(purchase_date) as last_purchase_date,
        count(*) - 1 as frequency,
        -- Every purchase day but the first: a customer's days are distinct and their revenue never
        -- null (fct_orders), so the total less the first day's, without numbering the days in a
        -- window that sorts each customer's rows.
        case when count(*) > 1 then sum(revenue) - arg_min(revenue, purchase_date) end as repeat_revenue
    from in_period
    group by 1, 2
),

holdout as (
    select summarised.customer_id, count(purchase_days.purchase_date) as holdout_purchases
    from summarised
    join purchase_days
        on purchase_days.customer_id = summarised.customer_id
        and purchase_days.purchase_date > summarised.cutoff_date
        and purchase_days.purchase_date <= summarised.as_of_date
    where summarised.period = 'calibration'
    group by 1
),

final as (
    select
        summarised.period,
        summarised.customer_id,
        summarised.cutoff_date,
        summarised.first_purchase_date,
        summarised.last_purchase_date,
        cast(summarised.frequency as integer) as frequency,
        date_diff('day', summarised.first_purchase_date, summarised.last_purchase_date) / 7.0 as recency,
        date_diff('day', summarised.first_purchase_date, summarised.cutoff_date) / 7.0 as "T",
        case when summarised.frequency > 0 then cast(summarised.repeat_revenue as double) / summarised.frequency end as monetary_value,
        case when summarised.period = 'calibration' then coalesce(holdout.holdout_purchases, 0) end as holdout_purchases,
        case when summarised.period = 'calibration' then date_diff('day', summarised.cutoff_date, summarised.as_of_date) / 7.0 end as holdout_weeks
    from summarised
    left join holdout on holdout.customer_id = summarised.customer_id and summarised.period = 'calibration'
)

select * from final
