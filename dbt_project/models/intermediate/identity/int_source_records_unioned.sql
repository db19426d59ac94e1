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

-- What the dictionary says each word of a surname or given-name column is (int_name_word_roles).
word_roles as (
    select * from {{ ref('int_name_word_roles') }}
),

exported as (
    select
        person_records.record_key,
        person_records.source_system,
        person_records.source_record_id,
        -- Separate name columns are taken as given unless plainly swapped; a one-field name is split.
        case when person_records.full_name is not null and coalesce(person_records.surname, person_records.given_name) is null
             then names.surname
             when surname_word.is_given_name and given_word.is_only_surname then {{ display_name('person_records.given_name') }}
             else {{ display_name('person_records.surname') }} end as surname,
        case when person_records.full_name is not null and coalesce(person_records.surname, person_records.given_name) is null
             then names.given_name
             when surname_word.is_given_name and given_word.is_only_surname then {{ display_name('person_records.surname') }}
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
    -- Swapped boxes: a given name in the surname column and only a surname in the given name's.
    left join word_roles as surname_word on surname_word.word = person_records.surname
    left join word_roles as given_word on given_word.word = person_records.given_name
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
