-- Grain: one row per order or won/lost deal from any system that sells. Net revenue counts
-- completed orders only (RetailCRM: items after discounts, without delivery; CRM deals: the deal
-- amount; 1C store sales: the posted document's sum; till receipts from spreadsheet exports: their amount); cancelled, returned and lost ones carry
-- zero. A CRM deal is an order when it is won (completed) or lost (cancelled); open deals are in
-- progress; an unposted 1C document is in progress. Deleted records are left out. CommerceML
-- order files are not read here: they carry the same 1C sales for the web site (double counting).
with identity as (
    select source_system, source_record_id, customer_id from {{ ref('customer_identity_map') }}
),

retailcrm_items as (
    select order_id, sum((unit_price - unit_discount) * quantity) as items_net_amount
    from {{ ref('stg_retailcrm__order_items') }}
    group by 1
),

retailcrm as (
    select
        'retailcrm' as source_system,
        orders.order_id as source_order_id,
        orders.order_number,
        orders.customer_record_id,
        orders.ordered_at,
        orders.status,
        orders.status_group,
        orders.total_amount,
        coalesce(retailcrm_items.items_net_amount, orders.items_amount) as items_net_amount,
        cast(null as varchar) as customer_phone
    from {{ ref('stg_retailcrm__orders') }} orders
    left join retailcrm_items using (order_id)
    where not orders.is_deleted
),

amocrm as (
    select
        'amocrm', cast(lead_id as varchar), cast(lead_id as varchar), contact_record_id,
        coalesce(case when is_won or is_lost then closed_at end, created_at),
        status,
        case when is_won then 'completed' when is_lost then 'cancelled' else 'in_progress' end,
        amount, amount, null
    from {{ ref('stg_amocrm__leads') }}
    where not is_deleted
),

bitrix24 as (
    select
        'bitrix24', cast(deal_id as varchar), cast(deal_id as varchar), contact_record_id,
        coalesce(case when is_won or is_lost then closed_at end, created_at),
        stage_id,
        case when is_won then 'completed' when is_lost then 'cancelled' else 'in_progress' end,
        amount, amount, null
    from {{ ref('stg_bitrix24__deals') }}
),

onec as (
    select
        'onec', sale_id, sale_number, counterparty_record_id, sold_at,
        case when is_posted then 'posted' else 'draft' end,
        case when is_posted then 'completed' else 'in_progress' end,
        total_amount, total_amount, null
    from {{ ref('stg_onec__sales') }}
    where not is_deleted and sold_at is not null
),

spreadsheets as (
    -- Till receipts from a 1C retail-sales export: the buyer is named by loyalty card, else phone.
    select
        'spreadsheets', order_record_id, order_number, replace(customer_record_key, 'spreadsheets:', ''), ordered_at,
        status_raw,
        case status when 'complete' then 'completed' when 'cancelled' then 'cancelled'
                    when 'returned' then 'returned' else 'in_progress' end,
        cast(amount as double), cast(amount as double), customer_phone
    from {{ ref('stg_spreadsheets__orders') }}
),

phone_owner as (
    select identifier_value as phone, customer_id
    from {{ ref('int_identifier_owners') }}
    where identifier_type = 'phone'
),

unioned as (
    select * from retailcrm
    union all select * from spreadsheets
    union all select * from onec
    union all select * from amocrm
    union all select * from bitrix24
),

final as (
    select
        unioned.source_system || ':' || unioned.source_order_id as order_id,
        unioned.source_system,
        unioned.source_order_id,
        unioned.order_number,
        coalesce(identity.customer_id, phone_owner.customer_id) as customer_id,
        unioned.customer_record_id,
        unioned.ordered_at,
        unioned.status,
        unioned.status_group,
        unioned.status_group = 'completed' as is_completed,
        unioned.total_amount,
        unioned.items_net_amount,
        case when unioned.status_group = 'completed' then unioned.items_net_amount else 0 end as net_revenue
    from unioned
    left join identity
        on identity.source_system = unioned.source_system
        and identity.source_record_id = unioned.customer_record_id
    left join phone_owner on phone_owner.phone = unioned.customer_phone
)

select * from final
