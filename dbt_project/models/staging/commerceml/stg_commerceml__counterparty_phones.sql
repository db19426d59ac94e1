-- Phone contacts of buyers as typed (normalised centrally, not here).
with contacts as (
    select * from {{ ref('stg_commerceml__counterparty_contacts') }} where contact_type = 'phone' and value_raw is not null
),

final as (
    select
        counterparty_record_id,
        position,
        value_raw as phone_raw,
        contact_usage
    from contacts
)

select * from final
