-- Grain: one row per order or won/lost deal from any enabled system that sells. What counts as
-- completed, and what net revenue means, is each system's staging rule (stg_<system>__orders);
-- net revenue counts completed orders only, cancelled, returned, lost and open ones carry zero.
-- The buyer is found by the record the order names in its system (even when that system exported
-- no person file: the customer is that id), else by the phone or e-mail the order carries.
-- ordered_date is the business-local date (recency and windows use it); ordered_at the UTC
-- instant when the source gave a time. Money is decimal end to end.
with orders as (
    select * from {{ ref('int_orders_unioned') }}
),

identity as (
    select record_key, customer_id from {{ ref('customer_identity_map') }}
),

phones as (
    select phone_raw, phone from {{ ref('int_phone_numbers_parsed') }}
),

emails as (
    select email_raw, email from {{ ref('int_email_addresses_parsed') }}
),

owners as (
    select identifier_type, identifier_value, customer_id from {{ ref('int_identifier_owners') }}
),

final as (
    select
        orders.order_id,
        orders.source_system,
        orders.source_order_id,
        orders.order_number,
        coalesce(identity.customer_id, phone_owner.customer_id, email_owner.customer_id) as customer_id,
        orders.customer_source_system,
        orders.customer_record_id,
        case
            when identity.customer_id is not null then 'record'
            when phone_owner.customer_id is not null then 'phone'
            when email_owner.customer_id is not null then 'email'
        end as attached_by,
        orders.ordered_date,
        orders.ordered_at,
        orders.status,
        orders.status_group,
        orders.status_group = 'completed' as is_completed,
        orders.total_amount,
        orders.net_amount,
        case when orders.status_group = 'completed' then coalesce(orders.net_amount, 0) else cast(0 as decimal(18, 2)) end as net_revenue,
        '{{ var("currency", "RUB") }}' as currency
    from orders
    left join identity on identity.record_key = orders.customer_record_key
    left join phones on phones.phone_raw = orders.customer_phone_raw
    left join owners as phone_owner on phone_owner.identifier_type = 'phone' and phone_owner.identifier_value = phones.phone
    left join emails on emails.email_raw = orders.customer_email_raw
    left join owners as email_owner on email_owner.identifier_type = 'email' and email_owner.identifier_value = emails.email
)

select * from final
