-- Every person-like source record, one row each, with a key unique across sources: the records
-- systems exported, with one-field names split (int_person_names_parsed), plus a record for every
-- buyer an order names in a system that exported no person row for it (an order history with
-- only customer ids still belongs to customers: each id is a customer with whatever else is known).
with person_records as (
    select * from {{ ref('int_person_records_raw') }}
),

names as (
    select * from {{ ref('int_person_names_parsed') }}
),

-- Separate surname and given-name columns filled the other way round (int_name_columns_checked).
swapped as (
    select surname, given_name from {{ ref('int_name_columns_checked') }} where is_swapped
),

exported as (
    select
        person_records.record_key,
        person_records.source_system,
        person_records.source_record_id,
        -- Separate name columns are taken as given unless plainly swapped; a one-field name is split.
        case when person_records.full_name is not null and coalesce(person_records.surname, person_records.given_name) is null
             then names.surname
             when swapped.surname is not null then {{ display_name('person_records.given_name') }}
             else {{ display_name('person_records.surname') }} end as surname,
        case when person_records.full_name is not null and coalesce(person_records.surname, person_records.given_name) is null
             then names.given_name
             when swapped.surname is not null then {{ display_name('person_records.surname') }}
             else {{ display_name('person_records.given_name') }} end as given_name,
        case when person_records.full_name is not null and coalesce(person_records.surname, person_records.given_name) is null
             then coalesce(names.patronymic, {{ display_name('person_records.patronymic') }})
             else {{ display_name('person_records.patronymic') }} end as patronymic,
        person_records.birth_date,
        person_records.city,
        person_records.record_created_at,
        person_records.evidence,
        false as is_order_only
    from person_records
    left join names using (full_name)
    left join swapped on swapped.surname = person_records.surname and swapped.given_name = person_records.given_name
    -- A one-field name that is an organisation's ("ООО «Ромашка»", "ИП Иванов И.И.") is a
    -- company card in a person export, not a person: its contacts are an office's.
    where not (
        person_records.full_name is not null
        and coalesce(person_records.surname, person_records.given_name) is null
        and regexp_matches(lower(person_records.full_name), '^\s*(ооо|оао|зао|пао|ао|ип|нко|гуп|муп|фгуп|ано|тоо|llc|ltd|inc|gmbh)(\s|\.|$)|["«»]')
    )
),

order_only as (
    select distinct on (orders.customer_record_key)
        orders.customer_record_key as record_key,
        orders.customer_source_system as source_system,
        orders.customer_record_id as source_record_id,
        null as surname, null as given_name, null as patronymic,
        cast(null as date) as birth_date, null as city,
        cast(null as timestamp) as record_created_at,
        'named as the buyer of order ' || orders.order_id as evidence,
        true as is_order_only
    from {{ ref('int_orders_unioned') }} as orders
    anti join exported on exported.record_key = orders.customer_record_key
    where orders.customer_record_key is not null
    order by orders.customer_record_key, orders.ordered_date, orders.order_id
),

final as (
    select * from exported
    union all
    select * from order_only
)

select * from final
