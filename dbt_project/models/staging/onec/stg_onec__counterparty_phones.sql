-- One row per phone line of a counterparty, as typed at the till (normalised centrally, not here).
with contacts as (
    select * from {{ ref('stg_onec__counterparty_contacts') }} where contact_type = 'Телефон'
),

final as (
    select
        counterparty_record_id,
        line_number,
        contact_kind_id,
        value_raw as phone_raw
    from contacts
)

select * from final
