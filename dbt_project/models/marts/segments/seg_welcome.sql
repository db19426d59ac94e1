-- New customers: first completed purchase within the last `welcome_window_days` days.
with customers as (
    select * from {{ ref('customer_360') }}
),

final as (
    select customer_id, email, phone, given_name, first_purchase_date
    from customers
    where first_purchase_date is not null
      and first_purchase_date > {{ segment_as_of() }} - to_days({{ var('welcome_window_days') }})
)

select * from final
