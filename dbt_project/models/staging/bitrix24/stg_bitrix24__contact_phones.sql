-- One row per entry of a contact's PHONE multi-field, as typed and as E.164. VALUE_TYPE is what
-- the manager picked (WORK is Bitrix24's default, so it often labels a personal mobile).
with contacts as (
    select cast(id as varchar) as contact_record_id, phone
    from {{ source('bitrix24', 'contacts') }}
    where json_type(phone) = 'ARRAY'
),

entries as (
    select
        contact_record_id,
        unnest(from_json(phone, '["json"]')) as entry,
        generate_subscripts(from_json(phone, '["json"]'), 1) as phone_position
    from contacts
),

renamed as (
    select
        contact_record_id,
        phone_position,
        cast(entry->>'$.ID' as varchar) as phone_entry_id,
        upper(entry->>'$.VALUE_TYPE') as value_type,
        nullif(trim(entry->>'$.VALUE'), '') as phone_raw
    from entries
),

final as (
    select
        contact_record_id,
        phone_position,
        phone_entry_id,
        value_type,
        phone_raw,
        phone_e164(phone_raw) as phone,
        phone_issue(phone_raw) as phone_issue,
        phone_kind(phone_raw) as phone_kind
    from renamed
    where phone_raw is not null
)

select * from final
