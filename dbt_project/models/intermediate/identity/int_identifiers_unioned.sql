-- The long table of identifiers: (record, identifier type, normalised value). Only valid,
-- normalised values get here; invalid ones stay flagged in staging and link nothing.
with crm_emails as (
    select 'retailcrm:' || customer_record_id as record_key, 'email' as identifier_type, email as identifier_value
    from {{ ref('stg_retailcrm__customers') }} where email is not null
),

crm_phones as (
    select 'retailcrm:' || customer_record_id, 'phone', phone
    from {{ ref('stg_retailcrm__customer_phones') }} where phone is not null
),

crm_cards as (
    select 'retailcrm:' || customer_record_id, 'loyalty_card', loyalty_card
    from {{ ref('stg_retailcrm__customers') }} where loyalty_card is not null
),

sheet_emails as (
    select 'spreadsheets:' || member_record_id, 'email', email
    from {{ ref('stg_spreadsheets__members') }} where email is not null
),

sheet_phones as (
    select 'spreadsheets:' || member_record_id, 'phone', phone
    from {{ ref('stg_spreadsheets__member_phones') }} where phone is not null
),

sheet_cards as (
    -- Only rows whose mapping has a card column: an event sign-up's row number is not a card.
    select 'spreadsheets:' || member_record_id, 'loyalty_card', loyalty_card
    from {{ ref('stg_spreadsheets__members') }} where loyalty_card is not null
),

esp_emails as (
    select 'unisender:' || contact_record_id, 'email', email
    from {{ ref('stg_unisender__contacts') }} where email is not null
),

amocrm_emails as (
    select 'amocrm:' || contact_record_id, 'email', email
    from {{ ref('stg_amocrm__contacts') }} where email is not null
),

amocrm_phones as (
    select 'amocrm:' || contact_record_id, 'phone', phone
    from {{ ref('stg_amocrm__contact_phones') }} where phone is not null
),

bitrix24_emails as (
    select 'bitrix24:' || contact_record_id, 'email', email
    from {{ ref('stg_bitrix24__contact_emails') }} where email is not null
),

bitrix24_phones as (
    -- A WORK landline on a wholesale contact is the employer's switchboard, shared by colleagues
    -- (often fewer than the over-shared threshold): it does not identify a person.
    select 'bitrix24:' || contact_record_id, 'phone', phone
    from {{ ref('stg_bitrix24__contact_phones') }}
    where phone is not null and not (value_type = 'WORK' and phone_kind = 'fixed_line')
),

sendsay_emails as (
    select 'sendsay:' || member_record_id, 'email', email
    from {{ ref('stg_sendsay__members') }} where email is not null
),

sendsay_phones as (
    select 'sendsay:' || member_record_id, 'phone', phone
    from {{ ref('stg_sendsay__members') }} where phone is not null
),

onec_people as (
    select * from {{ ref('stg_onec__counterparties') }} where is_person
),

onec_emails as (
    select 'onec:' || counterparty_record_id, 'email', email
    from onec_people where email is not null
),

onec_phones as (
    select 'onec:' || phones.counterparty_record_id, 'phone', phones.phone
    from {{ ref('stg_onec__counterparty_phones') }} as phones
    semi join onec_people using (counterparty_record_id)
    where phones.phone is not null
),

-- The 1C card's Code is the id RetailCRM's 1C exchange writes into the customer's externalId:
-- the same person in both systems, whatever their contacts say.
onec_codes as (
    select 'onec:' || counterparty_record_id, 'onec_code', onec_code
    from onec_people where onec_code is not null
),

crm_onec_codes as (
    select 'retailcrm:' || customer_record_id, 'onec_code', upper(trim(external_id))
    from {{ ref('stg_retailcrm__customers') }} where nullif(trim(external_id), '') is not null
),

-- A CommerceML buyer exported by 1C carries the card's Ref_Key as its Ид.
onec_refs as (
    select 'onec:' || counterparty_record_id, 'onec_ref', lower(counterparty_record_id)
    from onec_people
),

commerceml_people as (
    select * from {{ ref('stg_commerceml__counterparties') }} where is_person
),

commerceml_refs as (
    select 'commerceml:' || counterparty_record_id, 'onec_ref', onec_ref
    from commerceml_people
    where regexp_full_match(onec_ref, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
),

commerceml_emails as (
    select 'commerceml:' || counterparty_record_id, 'email', email
    from commerceml_people where email is not null
),

commerceml_phones as (
    select 'commerceml:' || phones.counterparty_record_id, 'phone', phones.phone
    from {{ ref('stg_commerceml__counterparty_phones') }} as phones
    semi join commerceml_people using (counterparty_record_id)
    where phones.phone is not null
),

final as (
    select * from crm_emails
    union all select * from crm_phones
    union all select * from crm_cards
    union all select * from sheet_emails
    union all select * from sheet_phones
    union all select * from sheet_cards
    union all select * from esp_emails
    union all select * from sendsay_emails
    union all select * from sendsay_phones
    union all select * from amocrm_emails
    union all select * from amocrm_phones
    union all select * from bitrix24_emails
    union all select * from bitrix24_phones
    union all select * from onec_emails
    union all select * from onec_phones
    union all select * from onec_codes
    union all select * from crm_onec_codes
    union all select * from onec_refs
    union all select * from commerceml_refs
    union all select * from commerceml_emails
    union all select * from commerceml_phones
)

select distinct * from final
