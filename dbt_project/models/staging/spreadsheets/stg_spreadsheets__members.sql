-- One row per person-like spreadsheet row. Values as the file wrote them (trimmed, empty -> null):
-- names as given (separate columns are never joined and re-split; a one-field name stays
-- full_name), phones and e-mails raw (normalised once, centrally). Dates stay dates; timestamps
-- without an offset are the system's wall-clock time.
with source as (
    select * from {{ raw_table('spreadsheets', 'members') }}
),

-- Raw keeps every file's rows (its key is the file and the record id). Where an entry's ids are
-- stable across exports (record_id_scope: entry, e.g. a CRM's customer id) the same record can be
-- in several files: the newest export's row is the record, so withdrawing a newer file brings the
-- older one's back. File- and year-scoped ids carry their scope and never meet here.
latest as (
    select * from source
    qualify row_number() over (
        partition by record_id
        order by file_exported_at desc nulls last, _dlt_load_id desc, source_file desc
    ) = 1
),

renamed as (
    select
        record_id as member_record_id,
        mapping_name,
        mapping_kind,
        -- Rows loaded before the connector kept the sheet in source_record_id: a per-sheet id is
        -- recognised by its record_id ending in '<sheet>:<id>'.
        case
            when file_exported_at is null and source_sheet is not null
                and ends_with(record_id, source_sheet || ':' || source_record_id)
                then source_sheet || ':' || source_record_id
            else source_record_id
        end as source_record_id,
        source_file,
        source_sheet,
        try_cast(source_row as integer) as source_row,
        source_position,
        field_headers,
        nullif(trim(full_name), '') as full_name,
        nullif(trim(surname), '') as surname,
        nullif(trim(given_name), '') as given_name,
        nullif(trim(patronymic), '') as patronymic,
        nullif(trim(phone), '') as phone_raw,
        nullif(trim(phone2), '') as phone2_raw,
        nullif(trim(email), '') as email_raw,
        {{ normalize_email('email') }} as email_normalized,
        {{ email_issue('email') }} as email_issue,
        nullif(regexp_replace(coalesce(card, ''), '\s', '', 'g'), '') as loyalty_card,
        nullif(trim(birthday), '') as birthday_raw,
        try_cast(nullif(trim(birthday), '') as date) as birth_date,
        -- granted / revoked / none from the mapping's vocabulary (connector); rows loaded before
        -- it wrote that carry true/false.
        case email_consent when 'granted' then 'granted' when 'true' then 'granted'
                           when 'revoked' then 'revoked' when 'false' then 'revoked' end as email_consent,
        case email_status when 'granted' then 'granted' when 'revoked' then 'revoked' end as email_status,
        {{ local_to_utc("nullif(email_consent_at, '')", 'spreadsheets') }} as email_consent_at,
        case sms_consent when 'granted' then 'granted' when 'true' then 'granted'
                         when 'revoked' then 'revoked' when 'false' then 'revoked' end as sms_consent,
        case sms_status when 'granted' then 'granted' when 'revoked' then 'revoked' end as sms_status,
        {{ local_to_utc("nullif(sms_consent_at, '')", 'spreadsheets') }} as sms_consent_at,
        {{ local_to_utc("nullif(registered_at, '')", 'spreadsheets') }} as registered_at,
        -- The file's export date (its modification time, S3 LastModified); rows loaded before the
        -- connector recorded it fall back to their load time (a dlt load id is its Unix time).
        coalesce(
            timezone('UTC', try_cast(file_exported_at as timestamptz)),
            make_timestamp(cast(try_cast(_dlt_load_id as decimal(20, 6)) * 1000000 as bigint))
        ) as file_exported_at,
        file_exported_at is not null as has_file_export_date,
        nullif(trim(store), '') as store,
        _dlt_load_id as load_id
    from latest
),

final as (
    select
        member_record_id,
        mapping_name as source_system,
        source_record_id,
        mapping_name,
        mapping_kind,
        source_file,
        source_sheet,
        source_row,
        source_position,
        field_headers,
        full_name,
        surname,
        given_name,
        patronymic,
        phone_raw,
        phone2_raw,
        email_raw,
        case when email_issue is null then email_normalized end as email,
        email_issue,
        loyalty_card,
        birth_date,
        case when birthday_raw is not null and birth_date is null then 'birthday is not a date' end as birth_date_issue,
        email_consent,
        email_status,
        email_consent_at,
        sms_consent,
        sms_status,
        sms_consent_at,
        registered_at,
        file_exported_at,
        store,
        load_id
    from renamed
)

select * from final
