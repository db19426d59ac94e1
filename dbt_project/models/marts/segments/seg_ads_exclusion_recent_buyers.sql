-- Customers who bought in the last `recent_buyers_days` days: excluded from acquisition and
-- promo ad campaigns so the shop does not pay to advertise to people who just bought. Hashed
-- identifiers (customer_360.email_sha256 / phone_sha256).
with customers as (
    select * from {{ ref('customer_360') }}
),

final as (
    select
        customer_id,
        email,
        phone,
        given_name,
        last_purchase_date,
        email_sha256,
        phone_sha256
    from customers
    where last_purchase_date is not null
      and last_purchase_date > {{ segment_as_of() }} - to_days({{ var('recent_buyers_days') }})
)

select * from final
