-- The `person_records` shape: one row per Unisender contact. A contact carries no name (the export
-- has no name fields), no birth date and no city; its id is its e-mail address.
with contacts as (
    select * from {{ ref('stg_unisender__contacts') }}
),

final as (
    select
        'unisender' as source_system,
        contact_record_id as source_record_id,
        cast(null as varchar) as full_name,
        cast(null as varchar) as surname,
        cast(null as varchar) as given_name,
        cast(null as varchar) as patronymic,
        cast(null as date) as birth_date,
        cast(null as varchar) as city,
        added_at as record_created_at,
        'async/exportContacts' as evidence
    from contacts
)

select * from final
