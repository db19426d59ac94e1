-- High value, slipping away: value tier "high" (top predicted revenue) whose probability of still
-- being active fell by at least `value_slipping_alive_drop` since the as-of date a month earlier,
-- i.e. a valuable customer whose usual purchase did not come. RFM notices only once recency
-- crosses a quintile; the model notices when the silence is long for this customer's own pace.
with customers as (
    select * from {{ ref('customer_360') }}
),

value as (
    select * from {{ ref('customer_value') }}
),

final as (
    select
        customers.customer_id, customers.email, customers.phone, customers.given_name,
        value.predicted_revenue, value.probability_alive, value.probability_alive_month_ago, value.last_purchase_date
    from value
    join customers using (customer_id)
    where value.value_tier = 'high'
      and value.probability_alive_change <= -{{ var('value_slipping_alive_drop', 0.1) }}
)

select * from final
