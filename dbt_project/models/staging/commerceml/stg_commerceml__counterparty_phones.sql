with contacts as (
    select * from {{ ref('stg_commerceml__counterparty_contacts') }} where contact_type = 'phone' and value_raw is not null
),

final as (
    select
        counterparty_record_id,
        position,
        value_raw as phone_raw,
        phone_e164(value_raw) as phone,
        phone_issue(value_raw) as phone_issue,
        phone_kind(value_raw) as phone_kind
    from contacts
)

select * from final
