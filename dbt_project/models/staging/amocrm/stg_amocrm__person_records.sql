-- Cross-system shape person_records: one row per amoCRM contact (every contact is a person: the
-- phone-order sales team's customers; companies are a separate entity amoCRM staging does not read).
with contacts as (
    select * from {{ ref('stg_amocrm__contacts') }}
),

names as (
    select
        *,
        -- The structured form was used: both first_name and last_name filled.
        first_name_raw is not null and last_name_raw is not null as has_structured_name
    from contacts
),

final as (
    select
        'amocrm' as source_system,
        contact_record_id as source_record_id,
        -- Otherwise the free-text `name` (a manager typing the whole name into one box, in either
        -- order) is kept whole and parsed centrally.
        case when not has_structured_name then name_raw end as full_name,
        case when has_structured_name then last_name_raw end as surname,
        case when has_structured_name then first_name_raw end as given_name,
        -- amoCRM's form has no patronymic field (one typed into `name` comes out of the central parse).
        cast(null as varchar) as patronymic,
        birth_date,
        -- amoCRM has no standard city field
        cast(null as varchar) as city,
        created_at as record_created_at,
        '/api/v4/contacts/' || contact_record_id as evidence
    from names
)

select * from final
