-- Next-purchase window: repeat buyers the model still considers active (P(alive) >= 0.5) whose own
-- average gap between purchases says the next one is due between `value_next_purchase_days_before`
-- days ago and `value_next_purchase_days_ahead` days ahead of the as-of date, and who have not
-- bought since it fell due.
with customers as (
    select * from {{ ref('customer_360') }}
),

value as (
    select * from {{ ref('customer_value') }}
),

final as (
    select
        customers.customer_id, customers.email, customers.phone, customers.given_name,
        value.next_purchase_due_date, value.average_days_between_purchases, value.expected_purchases_30d
    from value
    join customers using (customer_id)
    where value.probability_alive >= 0.5
      and value.next_purchase_due_date between value.as_of_date - to_days({{ var('value_next_purchase_days_before', 7) }})
                                           and value.as_of_date + to_days({{ var('value_next_purchase_days_ahead', 14) }})
)

select * from final
