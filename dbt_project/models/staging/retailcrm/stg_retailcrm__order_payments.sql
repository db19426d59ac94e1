-- One row per payment of an order. `/orders` keys payments by payment id (`{}` when there are
-- none) while history snapshots list them; both shapes are read, so a deleted order's snapshot
-- (taken from its journal) still yields its payments.
with orders as (
    select order_id, payments from {{ ref('stg_retailcrm__all_orders') }}
),

unnested as (
    select
        order_id,
        unnest(
            case when json_type(payments) = 'ARRAY' then payments->'$[*]' else payments->'$.*' end
        ) as payment
    from orders
    where payments is not null
),

final as (
    select
        cast(payment->>'$.id' as varchar) as payment_id,
        order_id,
        payment->>'$.type' as payment_type,
        payment->>'$.status' as payment_status,
        cast(payment->>'$.amount' as decimal(18, 2)) as amount,
        {{ local_to_utc("payment->>'$.paidAt'", 'retailcrm') }} as paid_at,
        payment->>'$.externalId' as external_id
    from unnested
)

select * from final
