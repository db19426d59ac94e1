with source as (
    select * from {{ source('spreadsheets', 'members') }}
),

renamed as (
    select
        record_id as member_record_id,
        mapping_name,
        source_record_id,
        source_file,
        source_sheet,
        try_cast(source_row as integer) as source_row,
        source_position,
        -- Given name first: the splitter then recognises a swapped surname/given pair by its
        -- dictionary of first names, and keeps the column order when it does not know the name.
        person_name(coalesce(
            nullif(trim(full_name), ''),
            nullif(concat_ws(' ', nullif(trim(given_name), ''), nullif(trim(surname), ''), nullif(trim(patronymic), '')), '')
        )) as name_parts,
        coalesce(nullif(trim(full_name), ''), nullif(concat_ws(' ', nullif(trim(surname), ''), nullif(trim(given_name), ''), nullif(trim(patronymic), '')), '')) as full_name_raw,
        phone as phone_raw,
        phone_e164(phone) as phone,
        phone_issue(phone) as phone_issue,
        phone_kind(phone) as phone_kind,
        nullif(trim(phone2), '') as phone2_raw,
        email as email_raw,
        {{ normalize_email('email') }} as email_normalized,
        {{ email_issue('email') }} as email_issue,
        nullif(regexp_replace(coalesce(card, ''), '\s', '', 'g'), '') as loyalty_card,
        birthday as birthday_raw,
        coalesce(try_strptime(nullif(birthday, ''), '%d.%m.%Y'), try_cast(nullif(birthday, '') as timestamp))::date as birth_date,
        lower(trim(email_consent)) as email_consent_raw,
        coalesce(try_strptime(nullif(email_consent_at, ''), '%d.%m.%Y'), try_cast(nullif(email_consent_at, '') as timestamp)) as email_consent_at,
        lower(trim(sms_consent)) as sms_consent_raw,
        try_cast(nullif(sms_consent_at, '') as timestamp) as sms_consent_at,
        coalesce(
            try_strptime(nullif(registered_at, ''), '%d.%m.%Y %H:%M:%S'),
            try_strptime(nullif(registered_at, ''), '%d.%m.%Y'),
            try_cast(nullif(registered_at, '') as timestamp)
        ) as registered_at,
        store,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        member_record_id,
        mapping_name,
        source_record_id,
        source_file,
        source_sheet,
        source_row,
        source_position,
        name_parts.surname as surname,
        name_parts.given_name as given_name,
        name_parts.patronymic as patronymic,
        full_name_raw,
        phone_raw,
        phone,
        phone_issue,
        phone_kind,
        phone2_raw,
        email_raw,
        case when email_issue is null then email_normalized end as email,
        email_issue,
        loyalty_card,
        birth_date,
        case when birthday_raw <> '' and birth_date is null then 'birthday is not a date' end as birth_date_issue,
        -- The connector writes true/false from the mapping's vocabulary; the spellings are kept
        -- for rows loaded before it did.
        case
            when email_consent_raw in ('true', 'да', 'yes', 'y', '1', 'д', '+', '✓') then true
            when email_consent_raw in ('false', 'нет', 'no', 'n', '0', 'н', '-') then false
        end as has_email_consent,
        email_consent_at,
        case sms_consent_raw when 'true' then true when 'false' then false end as has_sms_consent,
        sms_consent_at,
        registered_at,
        store,
        load_id
    from renamed
)

select * from final
