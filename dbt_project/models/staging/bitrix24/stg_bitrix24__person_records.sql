-- Cross-system shape person_records: one row per Bitrix24 contact (contacts are people, wholesale
-- buyers' staff included; companies are a separate entity Bitrix24 staging does not read).
with contacts as (
    select * from {{ ref('stg_bitrix24__contacts') }}
),

names as (
    select
        *,
        -- Managers paste the whole "Фамилия Имя Отчество" into NAME and leave LAST_NAME empty.
        last_name_raw is null and contains(name_raw, ' ') as is_glued_name
    from contacts
),

final as (
    select
        'bitrix24' as source_system,
        contact_record_id as source_record_id,
        -- A glued NAME is one field of unknown order, parsed centrally. Such managers often still
        -- fill SECOND_NAME with the patronymic ("Семёнова Дарья" + "Артёмовна"): it joins the
        -- one-field name unless NAME already has three words (the parse's own patronymic wins, as
        -- before) or already contains it.
        case
            when not is_glued_name then null
            when second_name_raw is not null
                 and len(string_split_regex(name_raw, '\s+')) < 3
                 and not contains(lower(name_raw), lower(second_name_raw))
                then name_raw || ' ' || second_name_raw
            else name_raw
        end as full_name,
        -- Otherwise LAST_NAME, NAME and SECOND_NAME are taken as given.
        case when not is_glued_name then last_name_raw end as surname,
        case when not is_glued_name then name_raw end as given_name,
        case when not is_glued_name then second_name_raw end as patronymic,
        birth_date,
        city,
        created_at as record_created_at,
        'crm.contact.get?ID=' || contact_record_id as evidence
    from names
)

select * from final
