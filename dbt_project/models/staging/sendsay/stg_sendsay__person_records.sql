-- The `person_records` shape: one row per Sendsay member (every member is a subscriber, a person).
-- The old sign-up form had one "Имя" field (base.firstName: people typed the given name, the whole
-- name in either order, or a surname) and sometimes a last name (base.lastName). With a last name
-- the two fields are taken as given; without one, "Имя" is a one-field name whose order is
-- unknown (full_name, parsed centrally).
with members as (
    select * from {{ ref('stg_sendsay__members') }}
),

final as (
    select
        'sendsay' as source_system,
        member_record_id as source_record_id,
        case when last_name_raw is null then first_name_raw end as full_name,
        last_name_raw as surname,
        case when last_name_raw is not null then first_name_raw end as given_name,
        cast(null as varchar) as patronymic,
        cast(null as date) as birth_date,
        cast(null as varchar) as city,
        created_at as record_created_at,
        'member.list' as evidence
    from members
)

select * from final
