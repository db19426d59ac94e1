-- One row per entry of a contact's EMAIL multi-field: wholesale contacts often carry a private
-- and a corporate address.
with contacts as (
    select cast(id as varchar) as contact_record_id, email
    from {{ source('bitrix24', 'contacts') }}
    where json_type(email) = 'ARRAY'
),

entries as (
    select
        contact_record_id,
        unnest(from_json(email, '["json"]')) as entry,
        generate_subscripts(from_json(email, '["json"]'), 1) as email_position
    from contacts
),

renamed as (
    select
        contact_record_id,
        email_position,
        cast(entry->>'$.ID' as varchar) as email_entry_id,
        upper(entry->>'$.VALUE_TYPE') as value_type,
        entry->>'$.VALUE' as email_raw
    from entries
),

final as (
    select
        contact_record_id,
        email_position,
        email_entry_id,
        value_type,
        email_raw,
        case when {{ email_issue('email_raw') }} is null then {{ normalize_email('email_raw') }} end as email,
        {{ email_issue('email_raw') }} as email_issue
    from renamed
    where nullif(trim(email_raw), '') is not null
)

select * from final
