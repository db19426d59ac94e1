-- Customers who used to buy and have gone quiet: RFM segments At risk, Can't lose them,
-- About to sleep and Hibernating.
with customers as (
    select * from {{ ref('customer_360') }}
),

final as (
    select customer_id, email, phone, given_name, rfm_segment
    from customers
    where rfm_segment in ('At risk', 'Can''t lose them', 'About to sleep', 'Hibernating')
)

select * from final
