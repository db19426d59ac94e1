-- One row per 1C counterparty card. The name stays one field as 1C keeps it (Наименование: surname
-- first as a rule, but given name first happens): it is split centrally, not here.
with source as (
    select * from {{ raw_table('onec', 'counterparties') }}
),

first_email as (
    select counterparty_record_id, arg_min(value_raw, line_number) as email_raw
    from {{ ref('stg_onec__counterparty_contacts') }}
    where contact_type = 'АдресЭлектроннойПочты'
    group by 1
),

renamed as (
    select
        "Ref_Key" as counterparty_record_id,
        upper(nullif(trim("Code"), '')) as onec_code,
        nullif(trim("Description"), '') as description,
        nullif(trim("НаименованиеПолное"), '') as full_name,
        "ЮридическоеФизическоеЛицо" as legal_form,
        nullif(trim("ИНН"), '') as inn,
        nullif(trim("КПП"), '') as kpp,
        nullif("Parent_Key", '00000000-0000-0000-0000-000000000000') as parent_record_id,
        "IsFolder" as is_folder,
        "DeletionMark" as is_deleted,
        nullif(trim("Комментарий"), '') as comment,
        {{ local_to_utc("nullif(\"ДатаСоздания\", '0001-01-01T00:00:00')", 'onec') }} as record_created_at,
        "DataVersion" as data_version,
        _dlt_load_id as load_id,
        to_timestamp(cast(_dlt_load_id as double)) as loaded_at
    from source
),

final as (
    select
        renamed.counterparty_record_id,
        onec_code,
        description,
        full_name,
        -- A person is an individual's card: not a group folder, not a company, and not the shared
        -- card anonymous till receipts are written to ("Розничный покупатель").
        (legal_form = 'ФизическоеЛицо' and not is_folder
            and lower(coalesce(description, '')) not like 'розничный покупатель%') as is_person,
        legal_form,
        inn,
        kpp,
        parent_record_id,
        is_folder,
        is_deleted,
        first_email.email_raw,
        case when {{ email_issue('first_email.email_raw') }} is null then {{ normalize_email('first_email.email_raw') }} end as email,
        {{ email_issue('first_email.email_raw') }} as email_issue,
        comment,
        record_created_at,
        data_version,
        load_id,
        loaded_at
    from renamed
    left join first_email using (counterparty_record_id)
)

select * from final
