-- The best customers (RFM segments in `lookalike_seed_segments`) as a seed for lookalike
-- audiences in ad cabinets, with hashed identifiers (customer_360.email_sha256 / phone_sha256).
with customers as (
    select * from {{ ref('customer_360') }}
),

final as (
    select
        customer_id,
        email,
        phone,
        given_name,
        rfm_segment,
        email_sha256,
        phone_sha256
    from customers
    where rfm_segment in (
        {%- for s in var('lookalike_seed_segments') %}'{{ s }}'{{ ", " if not loop.last }}{% endfor -%}
    )
)

select * from final
