-- Channel subscriptions as RetailCRM reports them (`customerSubscriptions`), one row each.
with customers as (
    select customer_record_id, created_at, customer_subscriptions from {{ ref('stg_retailcrm__customers') }}
),

unnested as (
    select
        customer_record_id,
        created_at,
        unnest(from_json(customer_subscriptions, '["json"]')) as subscription
    from customers
    where json_array_length(customer_subscriptions) > 0
),

final as (
    select
        customer_record_id,
        subscription->>'$.subscription.channel' as channel,
        subscription->>'$.subscription.code' as subscription_code,
        cast(subscription->>'$.subscribed' as boolean) as is_subscribed,
        coalesce(
            {{ local_to_utc("subscription->>'$.changedAt'", 'retailcrm') }},
            created_at
        ) as changed_at
    from unnested
)

select * from final
