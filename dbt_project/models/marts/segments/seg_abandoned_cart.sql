-- Customers who left items in their site cart between `abandoned_cart_min_hours` and
-- `abandoned_cart_max_hours` ago and have not ordered since. "Now" is var abandoned_cart_as_of,
-- or else the newest cart change loaded, so a replayed or demo dataset is evaluated as of its own
-- present and a production run as of its last load (carts change every few minutes on a live
-- site; a quiet night only delays the window, and the diff-based sync never sends a cart twice).
with carts as (
    select *, source_system || ':' || customer_record_id as customer_record_key, order_id is not null as is_ordered
    from {{ ref('int_carts_unioned') }}
),

orders as (
    select customer_id, ordered_at, ordered_date from {{ ref('fct_orders') }} where customer_id is not null
),

as_of as (
    {% if var('abandoned_cart_as_of', none) %}
    select cast('{{ var("abandoned_cart_as_of") }}' as timestamp) as as_of_at
    {% else %}
    select max(updated_at) as as_of_at from carts
    {% endif %}
),

identity as (
    select record_key, customer_id from {{ ref('customer_identity_map') }}
),

abandoned as (
    select identity.customer_id, carts.cart_id, carts.updated_at, carts.cart_amount, carts.items_count
    from carts
    cross join as_of
    join identity on identity.record_key = carts.customer_record_key
    where carts.is_open
      and not carts.is_ordered
      and carts.items_count > 0
      and carts.updated_at <= as_of.as_of_at - to_hours({{ var('abandoned_cart_min_hours') }})
      and carts.updated_at > as_of.as_of_at - to_hours({{ var('abandoned_cart_max_hours') }})
),

not_ordered_since as (
    select abandoned.*
    from abandoned
    where not exists (
        select 1 from orders
        where orders.customer_id = abandoned.customer_id
          and coalesce(orders.ordered_at, cast(orders.ordered_date as timestamp)) >= abandoned.updated_at
    )
),

latest_per_customer as (
    select distinct on (customer_id) *
    from not_ordered_since
    order by customer_id, updated_at desc, cart_id
),

customers as (
    select * from {{ ref('customer_360') }}
),

final as (
    select
        customers.customer_id, customers.email, customers.phone, customers.given_name,
        latest_per_customer.cart_id, latest_per_customer.updated_at as cart_updated_at,
        latest_per_customer.cart_amount, cast(latest_per_customer.items_count as bigint) as items_count
    from latest_per_customer
    join customers using (customer_id)
)

select * from final
