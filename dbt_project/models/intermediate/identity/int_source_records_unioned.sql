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

unioned as (
    select * from crm
    union all select * from sheets
    union all select * from esp
),

final as (
    select source_system || ':' || source_record_id as record_key, *
    from unioned
)

select * from final
