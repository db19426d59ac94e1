-- Buyers of the order documents, one row per Ид (the copy from the latest document wins). A buyer
-- that 1C exported carries the 1C counterparty's Ref_Key as its Ид; a Bitrix site writes
-- `user id#login#name`. Фамилия/Имя/Отчество are kept as the file gives them; the one-field
-- names (ПолноеНаименование, Наименование) are kept too and split centrally only when the
-- separate parts are missing.
with source as (
    select * from {{ raw_table('commerceml', 'counterparties') }}
),

first_email as (
    select counterparty_record_id, arg_min(value_raw, position) as email_raw
    from {{ ref('stg_commerceml__counterparty_contacts') }}
    where contact_type = 'email' and value_raw is not null
    group by 1
),

contact_count as (
    select counterparty_record_id, count(*) as contacts
    from {{ ref('stg_commerceml__counterparty_contacts') }}
    where value_raw is not null
    group by 1
),

first_order as (
    select counterparty_record_id, min(ordered_at) as first_order_at
    from {{ ref('stg_commerceml__orders') }}
    group by 1
),

renamed as (
    select
        counterparty_id as counterparty_record_id,
        nullif(trim(name), '') as display_name,
        nullif(trim(full_name), '') as full_name,
        nullif(trim(surname), '') as surname,
        nullif(trim(given_name), '') as given_name,
        nullif(trim(patronymic), '') as patronymic,
        -- A date without a time: stays that date, never given a zone.
        coalesce(try_strptime(birth_date, '%Y-%m-%d'), try_strptime(birth_date, '%d.%m.%Y'))::date as birth_date,
        nullif(trim(inn), '') as inn,
        nullif(trim(address), '') as address,
        role,
        order_id as source_order_id,
        source_file,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        renamed.counterparty_record_id,
        lower(renamed.counterparty_record_id) as onec_ref,
        surname,
        given_name,
        patronymic,
        display_name,
        full_name,
        birth_date,
        inn,
        -- An individual: no company INN (10 digits), and something to know the person by.
        (coalesce(length(inn), 0) <> 10
            and (coalesce(surname, given_name, patronymic, full_name, display_name) is not null
                 or coalesce(contact_count.contacts, 0) > 0)) as is_person,
        first_email.email_raw,
        case when {{ email_issue('first_email.email_raw') }} is null then {{ normalize_email('first_email.email_raw') }} end as email,
        {{ email_issue('first_email.email_raw') }} as email_issue,
        address,
        first_order.first_order_at,
        source_order_id,
        source_file,
        load_id
    from renamed
    left join first_email using (counterparty_record_id)
    left join contact_count using (counterparty_record_id)
    left join first_order using (counterparty_record_id)
)

select * from final
