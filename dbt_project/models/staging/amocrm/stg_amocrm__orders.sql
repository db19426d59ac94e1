-- Cross-system shape orders: one row per amoCRM lead that is not deleted. A lead is an order when
-- it is won (completed) or lost (cancelled); an open lead is in progress. It is ordered when it was
-- closed (won or lost), else when it was created. The amount is the lead's budget; a CRM deal has
-- no lines, so net = total. The buyer is the lead's main contact.
with leads as (
    select * from {{ ref('stg_amocrm__leads') }}
    where not is_deleted
),

renamed as (
    select
        lead_id,
        contact_record_id,
        coalesce(case when is_won or is_lost then closed_at end, created_at) as ordered_at,
        status,
        case when is_won then 'completed' when is_lost then 'cancelled' else 'in_progress' end as status_group,
        amount
    from leads
),

final as (
    select
        'amocrm' as source_system,
        lead_id as source_order_id,
        lead_id as order_number,
        'amocrm' as customer_source_system,
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
