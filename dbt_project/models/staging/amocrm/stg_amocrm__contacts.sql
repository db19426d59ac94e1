-- One row per amoCRM contact. Names: the structured first_name/last_name when the form was used,
-- otherwise the free-text `name` split by person_name(). The e-mail is the first EMAIL value.
with source as (
    select * from {{ source('amocrm', 'contacts') }}
),

custom_fields as (
    select
        id,
        unnest(from_json(custom_fields_values, '["json"]')) as field,
        generate_subscripts(from_json(custom_fields_values, '["json"]'), 1) as field_position
    from source
    where json_type(custom_fields_values) = 'ARRAY'
),

email_values as (
    select
        id,
        field_position,
        unnest(from_json(field->'$.values', '["json"]')) as value,
        generate_subscripts(from_json(field->'$.values', '["json"]'), 1) as value_position
    from custom_fields
    where field->>'$.field_code' = 'EMAIL'
),

first_email as (
    select
        id,
        arg_min(trim(value->>'$.value'), field_position * 10000 + value_position) as email_raw
    from email_values
    where nullif(trim(value->>'$.value'), '') is not null
    group by id
),

renamed as (
    select
        cast(source.id as varchar) as contact_record_id,
        nullif(trim(source.name), '') as name_raw,
        nullif(trim(source.first_name), '') as first_name_raw,
        nullif(trim(source.last_name), '') as last_name_raw,
        person_name(source.name) as name_parts,
        first_email.email_raw,
        {{ normalize_email('first_email.email_raw') }} as email_normalized,
        {{ email_issue('first_email.email_raw') }} as email_issue,
        cast(source.responsible_user_id as varchar) as responsible_user_id,
        -- Unix seconds, UTC by definition
        epoch_ms(source.created_at * 1000) as created_at,
        epoch_ms(source.updated_at * 1000) as updated_at,
        source.custom_fields_values,
        source._dlt_load_id as load_id
    from source
    left join first_email on first_email.id = source.id
),

final as (
    select
        contact_record_id,
        name_raw,
        case when first_name_raw is not null and last_name_raw is not null
             then last_name_raw else name_parts.surname end as surname,
        case when first_name_raw is not null and last_name_raw is not null
             then first_name_raw else name_parts.given_name end as given_name,
        case when first_name_raw is null or last_name_raw is null
             then name_parts.patronymic end as patronymic,
        -- amoCRM has no standard birthday field
        cast(null as date) as birth_date,
        email_raw,
        case when email_issue is null then email_normalized end as email,
        email_issue,
        responsible_user_id,
        created_at,
        updated_at,
        custom_fields_values,
        load_id
    from renamed
)

select * from final
