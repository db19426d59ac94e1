-- One row per Контакт of a buyer. Contact types are spelled many ways (Почта, Электронная почта,
-- Телефон рабочий, ТелефонРабочий, …): they are folded into email / phone / other here.
with source as (
    select counterparty_id, contacts from {{ source('commerceml', 'counterparties') }}
    where json_array_length(contacts) > 0
),

unnested as (
    select
        counterparty_id,
        unnest(range(cast(json_array_length(contacts) as bigint))) as position,
        contacts
    from source
),

final as (
    select
        counterparty_id as counterparty_record_id,
        position + 1 as position,
        contacts->>('$[' || position || '].type') as contact_type_raw,
        nullif(trim(contacts->>('$[' || position || '].value')), '') as value_raw,
        case
            when replace(lower(contacts->>('$[' || position || '].type')), ' ', '') in
                 ('почта', 'электроннаяпочта', 'email', 'e-mail', 'адресэлектроннойпочты') then 'email'
            when lower(contacts->>('$[' || position || '].type')) like '%телефон%'
              or lower(contacts->>('$[' || position || '].type')) like '%phone%' then 'phone'
            when contacts->>('$[' || position || '].value') like '%@%' then 'email'
            else 'other'
        end as contact_type
    from unnested
)

select * from final
