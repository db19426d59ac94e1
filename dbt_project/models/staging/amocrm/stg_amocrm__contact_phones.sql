-- One row per phone an amoCRM contact carries (the PHONE multitext field, values as typed).
-- `enum_code` is what the API documents; an older recording has `enum`, so both are read.
with contacts as (
    select contact_record_id, custom_fields_values from {{ ref('stg_amocrm__contacts') }}
    where json_type(custom_fields_values) = 'ARRAY'
),

custom_fields as (
    select
        contact_record_id,
        unnest(from_json(custom_fields_values, '["json"]')) as field,
        generate_subscripts(from_json(custom_fields_values, '["json"]'), 1) as field_position
    from contacts
),

phone_values as (
    select
        contact_record_id,
        field_position,
        unnest(from_json(field->'$.values', '["json"]')) as value,
        generate_subscripts(from_json(field->'$.values', '["json"]'), 1) as value_position
    from custom_fields
    where field->>'$.field_code' = 'PHONE'
),

renamed as (
    select
        contact_record_id,
        row_number() over (partition by contact_record_id order by field_position, value_position) as phone_position,
        nullif(trim(value->>'$.value'), '') as phone_raw,
        upper(coalesce(value->>'$.enum_code', value->>'$.enum')) as phone_label
    from phone_values
),

final as (
    select
        contact_record_id,
        phone_position,
        phone_raw,
        phone_label,
        phone_e164(phone_raw) as phone,
        phone_issue(phone_raw) as phone_issue,
        phone_kind(phone_raw) as phone_kind
    from renamed
    where phone_raw is not null
)

select * from final
