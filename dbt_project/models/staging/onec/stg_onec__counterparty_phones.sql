-- One row per phone line of a counterparty, as typed at the till and as E.164.
with contacts as (
    select * from {{ ref('stg_onec__counterparty_contacts') }} where contact_type = 'Телефон'
),

final as (
    select
        counterparty_record_id,
        line_number,
        value_raw as phone_raw,
        phone_e164(value_raw) as phone,
        phone_issue(value_raw) as phone_issue,
        phone_kind(value_raw) as phone_kind
    from contacts
)

select * from final
