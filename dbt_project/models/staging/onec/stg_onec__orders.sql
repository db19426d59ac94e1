-- 1C store sales (РеализацияТоваровУслуг) as cross-system orders. Revenue is the posted document's
-- sum: a posted document is completed, an unposted one is in progress. Documents marked for
-- deletion are left out, and so are documents without a date (1C's empty date), which cannot be
-- placed in any period. A sale to a card that is not a person (a company, the anonymous
-- "Розничный покупатель" card, a folder) names no customer; a sale to a card 1C did not export
-- still names that card's id (the customer exists with that id).
with sales as (
    select * from {{ ref('stg_onec__sales') }}
),

not_people as (
    select counterparty_record_id from {{ ref('stg_onec__counterparties') }} where not is_person
),

kept as (
    select * from sales
    where not is_deleted and sold_at is not null
),

final as (
    select
        'onec' as source_system,
        sale_id as source_order_id,
        sale_number as order_number,
        'onec' as customer_source_system,
        case when not exists (select 1 from not_people where not_people.counterparty_record_id = kept.counterparty_record_id)
             then kept.counterparty_record_id end as customer_record_id,
        cast(null as varchar) as customer_phone_raw,
        cast(null as varchar) as customer_email_raw,
        {{ business_date('sold_at') }} as ordered_date,
        sold_at as ordered_at,
        case when is_posted then 'posted' else 'draft' end as status,
        case when is_posted then 'completed' else 'in_progress' end as status_group,
        total_amount,
        total_amount as net_amount
    from kept
)

select * from final
