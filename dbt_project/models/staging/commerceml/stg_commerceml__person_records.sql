-- Buyers of the CommerceML order documents as cross-system person records: each Ид is a record of
-- its own (when 1C exported the file, the identifier onec_ref links it to the 1C card).
with counterparties as (
    select * from {{ ref('stg_commerceml__counterparties') }}
),

-- Individuals only: no company INN, and something to know the person by (is_person).
people as (
    select * from counterparties where is_person
),

final as (
    select
        'commerceml' as source_system,
        counterparty_record_id as source_record_id,
        -- Фамилия/Имя/Отчество win when the file has any of them (taken as given); only without
        -- them does the one-field name (ПолноеНаименование, else Наименование) go to the central split.
        case when coalesce(surname, given_name, patronymic) is null
            then coalesce(full_name, display_name)
        end as full_name,
        surname,
        given_name,
        patronymic,
        birth_date,
        cast(null as varchar) as city,
        -- A buyer card has no creation date: the first order document that names it stands in.
        first_order_at as record_created_at,
        source_file || coalesce(', Документ ' || source_order_id, '') as evidence
    from people
)

select * from final
