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
    from {{ ref('stg_spreadsheets__members') }} where phone is not null
),

sheet_cards as (
    select 'spreadsheets:' || member_record_id, 'loyalty_card', member_record_id
    from {{ ref('stg_spreadsheets__members') }}
),

esp_emails as (
    select 'unisender:' || contact_record_id, 'email', email
    from {{ ref('stg_unisender__contacts') }} where email is not null
),

final as (
    select * from crm_emails
    union all select * from crm_phones
    union all select * from crm_cards
    union all select * from sheet_emails
    union all select * from sheet_phones
    union all select * from sheet_cards
    union all select * from esp_emails
)

select distinct * from final
