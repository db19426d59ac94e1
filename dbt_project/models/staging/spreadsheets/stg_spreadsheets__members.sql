with source as (
    select * from {{ source('spreadsheets', 'members') }}
),

renamed as (
    select
        record_id as member_record_id,
        source_file,
        source_position,
        person_name(full_name) as name_parts,
        full_name as full_name_raw,
        phone as phone_raw,
        phone_e164(phone) as phone,
        phone_issue(phone) as phone_issue,
        phone_kind(phone) as phone_kind,
        email as email_raw,
        {{ normalize_email('email') }} as email_normalized,
        {{ email_issue('email') }} as email_issue,
        birthday as birthday_raw,
        coalesce(try_strptime(nullif(birthday, ''), '%d.%m.%Y'), try_cast(nullif(birthday, '') as timestamp))::date as birth_date,
        lower(trim(email_consent)) as email_consent_raw,
        coalesce(try_strptime(nullif(email_consent_at, ''), '%d.%m.%Y'), try_cast(nullif(email_consent_at, '') as timestamp)) as email_consent_at,
        coalesce(try_strptime(nullif(registered_at, ''), '%d.%m.%Y %H:%M:%S'), try_strptime(nullif(registered_at, ''), '%d.%m.%Y')) as registered_at,
        store,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        member_record_id,
        source_file,
        source_position,
        name_parts.surname as surname,
        name_parts.given_name as given_name,
        name_parts.patronymic as patronymic,
        full_name_raw,
        phone_raw,
        phone,
        phone_issue,
        phone_kind,
        email_raw,
        case when email_issue is null then email_normalized end as email,
        email_issue,
        birth_date,
        case when birthday_raw <> '' and birth_date is null then 'birthday is not a date' end as birth_date_issue,
        case
            when email_consent_raw in ('да', 'yes', 'y', '1', 'true', 'д', '+') then true
            when email_consent_raw in ('нет', 'no', 'n', '0', 'false', 'н', '-') then false
        end as has_email_consent,
        email_consent_at,
        registered_at,
        store,
        load_id
    from renamed
)

select * from final
