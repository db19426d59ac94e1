-- The identifiers shape: the e-mail, every phone in the customer's list (in list order), the
-- loyalty card (the shop's custom field) and the 1C code, as typed; normalised centrally.
with customers as (
    select * from {{ ref('stg_retailcrm__customers') }}
),

phones as (
    select * from {{ ref('stg_retailcrm__customer_phones') }}
),

emails as (
    select customer_record_id, 'email' as identifier_type, email_raw as identifier_raw, 1 as identifier_position
    from customers
    where email_raw is not null
),

phone_numbers as (
    select customer_record_id, 'phone', phone_raw, phone_position
    from phones
    where phone_raw is not null
),

loyalty_cards as (
    select customer_record_id, 'loyalty_card', loyalty_card, 1
    from customers
    where loyalty_card is not null
),

-- The 1C card's Code is the id RetailCRM's 1C exchange writes into the customer's externalId:
-- the same person in both systems, whatever their contacts say.
onec_codes as (
    select customer_record_id, 'onec_code', upper(trim(external_id)), 1
    from customers
    where nullif(trim(external_id), '') is not null
),

unioned as (
    select * from emails
    union all select * from phone_numbers
    union all select * from loyalty_cards
    union all select * from onec_codes
),

final as (
    select
        'retailcrm' as source_system,
        customer_record_id as source_record_id,
        identifier_type,
        identifier_raw,
        cast(identifier_position as integer) as identifier_position,
        -- RetailCRM's phone list and e-mail say nothing of what a value is for.
        cast(null as varchar) as identifier_usage
    from unioned
)

select * from final
