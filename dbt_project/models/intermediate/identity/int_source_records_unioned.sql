-- Every person-like source record, one row each, with a key unique across sources.
with crm as (
    select
        'retailcrm' as source_system,
        customer_record_id as source_record_id,
        surname, given_name, patronymic, birth_date, email,
        created_at as record_created_at
    from {{ ref('stg_retailcrm__customers') }}
),

sheets as (
    select
        'spreadsheets', member_record_id,
        surname, given_name, patronymic, birth_date, email,
        registered_at
    from {{ ref('stg_spreadsheets__members') }}
),

esp as (
    select
        'unisender', contact_record_id,
        null, null, null, null, email,
        added_at
    from {{ ref('stg_unisender__contacts') }}
),

sendsay as (
    select
        'sendsay', member_record_id,
        surname, given_name, patronymic, null, email,
        created_at
    from {{ ref('stg_sendsay__members') }}
),

amocrm as (
    select
        'amocrm', contact_record_id,
        surname, given_name, patronymic, birth_date, email,
        created_at
    from {{ ref('stg_amocrm__contacts') }}
),

bitrix24 as (
    select
        'bitrix24', contact_record_id,
        surname, given_name, patronymic, birth_date, email,
        created_at
    from {{ ref('stg_bitrix24__contacts') }}
),

onec as (
    -- Individuals' cards only: not folders, companies or the anonymous retail-buyer card.
    select
        'onec', counterparty_record_id,
        surname, given_name, patronymic, null, email,
        record_created_at
    from {{ ref('stg_onec__counterparties') }}
    where is_person
),

commerceml as (
    select
        'commerceml', counterparty_record_id,
        surname, given_name, patronymic, birth_date, email,
        first_order_at
    from {{ ref('stg_commerceml__counterparties') }}
    where is_person
),

unioned as (
    select * from crm
    union all select * from sheets
    union all select * from esp
    union all select * from sendsay
    union all select * from amocrm
    union all select * from bitrix24
    union all select * from onec
    union all select * from commerceml
),

final as (
    select source_system || ':' || source_record_id as record_key, *
    from unioned
)

select * from final
