-- The 1C counterparty cards of individuals as cross-system person records. 1C keeps the name in
-- one field whose order varies (surname first as a rule, given name first happens), so it goes
-- out as full_name and is split centrally with the morphological dictionary.
with counterparties as (
    select * from {{ ref('stg_onec__counterparties') }}
),

-- Individuals' cards only: not folders, companies or the anonymous retail-buyer card (is_person).
-- Cards marked for deletion stay: the person existed, and their sales still name the card.
people as (
    select * from counterparties where is_person
),

final as (
    select
        'onec' as source_system,
        counterparty_record_id as source_record_id,
        coalesce(description, full_name) as full_name,
        cast(null as varchar) as surname,
        cast(null as varchar) as given_name,
        cast(null as varchar) as patronymic,
        cast(null as date) as birth_date,
        cast(null as varchar) as city,
        record_created_at,
        'Catalog_Контрагенты ' || coalesce(onec_code, counterparty_record_id) as evidence
    from people
)

select * from final
