-- Cross-system shape orders: one row per Bitrix24 deal. A deal is an order when it is won
-- (completed) or lost (cancelled), by STAGE_SEMANTIC_ID as stg_bitrix24__deals decides; an open
-- deal is in progress. It is ordered when it was closed (won or lost), else when it was created.
-- The amount is OPPORTUNITY; a deal has no lines here, so net = total. The buyer is the deal's
-- primary contact (null for a deal booked on a company alone). Deals carry no deletion mark
-- (lists never show deleted records; see connectors/bitrix24/README.md), so none is filtered.
with deals as (
    select * from {{ ref('stg_bitrix24__deals') }}
),

renamed as (
    select
        deal_id,
        contact_record_id,
        coalesce(case when is_won or is_lost then closed_at end, created_at) as ordered_at,
        stage_id as status,
        case when is_won then 'completed' when is_lost then 'cancelled' else 'in_progress' end as status_group,
        amount
    from deals
),

final as (
    select
        'bitrix24' as source_system,
        deal_id as source_order_id,
        deal_id as order_number,
        'bitrix24' as customer_source_system,
        contact_record_id as customer_record_id,
        cast(null as varchar) as customer_phone_raw,
        cast(null as varchar) as customer_email_raw,
        {{ business_date('ordered_at') }} as ordered_date,
        ordered_at,
        status,
        status_group,
        cast(amount as decimal(18, 2)) as total_amount,
        cast(amount as decimal(18, 2)) as net_amount
    from renamed
)

select * from final
