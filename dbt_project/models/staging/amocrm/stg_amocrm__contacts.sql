-- One row per amoCRM contact. Names as typed (stg_amocrm__person_records decides which to use).
-- The e-mail is the first EMAIL value; all of them are in stg_amocrm__contact_emails.
with source as (
    select * from {{ raw_table('amocrm', 'contacts') }}
),

email_values as (
    {{ multifield_values(
        'source', 'id',
        amocrm_field_entries('custom_fields_values', 'EMAIL'),
        value="entry->>'$.value'",
        usage="coalesce(entry->>'$.enum_code', entry->>'$.enum')",
    ) }}
),

first_email as (
    select id, value_raw as email_raw
    from email_values
    where value_position = 1
),

renamed as (
    select
        cast(source.id as varchar) as contact_record_id,
        nullif(trim(source.name), '') as name_raw,
        nullif(trim(source.first_name), '') as first_name_raw,
        nullif(trim(source.last_name), '') as last_name_raw,
        first_email.email_raw,
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
        first_name_raw,
        last_name_raw,
        -- amoCRM has no standard birthday field
        cast(null as date) as birth_date,
        email_raw,
        case when {{ email_issue('email_raw') }} is null then {{ normalize_email('email_raw') }} end as email,
        {{ email_issue('email_raw') }} as email_issue,
        responsible_user_id,
        created_at,
        updated_at,
        custom_fields_values,
        load_id
    from renamed
)

select * from final
