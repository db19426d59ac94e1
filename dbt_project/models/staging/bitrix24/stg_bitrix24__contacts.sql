-- One row per Bitrix24 contact. Dates arrive with the portal's offset (+03:00) and are turned into
-- UTC; BIRTHDATE is a calendar date written as local midnight, so its date part is taken as is.
with source as (
    select * from {{ raw_table('bitrix24', 'contacts') }}
),

renamed as (
    select
        cast(id as varchar) as contact_record_id,
        nullif(trim(name), '') as name_raw,
        nullif(trim(last_name), '') as last_name_raw,
        nullif(trim(second_name), '') as second_name_raw,
        try_cast(left(nullif(trim(birthdate), ''), 10) as date) as birth_date,
        nullif(trim(birthdate), '') as birthdate_raw,
        -- The first EMAIL entry is the contact's main address; all of them are in stg_bitrix24__contact_emails.
        email->>'$[0].VALUE' as email_raw,
        type_id as contact_type,
        nullif(company_id, '0') as company_id,
        post as job_title,
        nullif(trim(address_city), '') as city,
        has_phone = 'Y' as has_phone,
        has_email = 'Y' as has_email,
        export = 'Y' as is_in_export,
        timezone('UTC', try_cast(date_create as timestamptz)) as created_at,
        timezone('UTC', try_cast(date_modify as timestamptz)) as updated_at,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        contact_record_id,
        -- Names as typed; stg_bitrix24__person_records decides which are separate fields and which
        -- is a one-field full name.
        name_raw,
        last_name_raw,
        second_name_raw,
        birth_date,
        case when birthdate_raw is not null and birth_date is null then 'birthdate is not a date' end as birth_date_issue,
        email_raw,
        case when {{ email_issue('email_raw') }} is null then {{ normalize_email('email_raw') }} end as email,
        {{ email_issue('email_raw') }} as email_issue,
        contact_type,
        company_id,
        job_title,
        city,
        has_phone,
        has_email,
        is_in_export,
        created_at,
        updated_at,
        load_id
    from renamed
)

select * from final
