-- One row per Контакт of a buyer. Contact types are spelled many ways (Почта, Электронная почта,
-- Телефон рабочий, ТелефонРабочий, …): they are folded into email / phone / other here, and the
-- usage a type names (рабочий, мобильный, домашний) into contact_usage.
with source as (
    select counterparty_id, contacts from {{ raw_table('commerceml', 'counterparties') }}
    where json_array_length(contacts) > 0
),

unnested as (
    select
        counterparty_id,
        unnest(range(cast(json_array_length(contacts) as bigint))) as position,
        contacts
    from source
),

typed as (
    select
        counterparty_id as counterparty_record_id,
        position + 1 as position,
        contacts->>('$[' || position || '].type') as contact_type_raw,
        nullif(trim(contacts->>('$[' || position || '].value')), '') as value_raw
    from unnested
),

final as (
    select
        counterparty_record_id,
        position,
        contact_type_raw,
        value_raw,
        case
            when replace(lower(contact_type_raw), ' ', '') in
                 ('почта', 'электроннаяпочта', 'email', 'e-mail', 'адресэлектроннойпочты') then 'email'
            when lower(contact_type_raw) like '%телефон%'
              or lower(contact_type_raw) like '%phone%' then 'phone'
            when value_raw like '%@%' then 'email'
            else 'other'
        end as contact_type,
        case
            when lower(contact_type_raw) like '%рабоч%' or lower(contact_type_raw) like '%work%' then 'work'
            when lower(contact_type_raw) like '%мобил%' or lower(contact_type_raw) like '%сотов%'
              or lower(contact_type_raw) like '%mobile%' or lower(contact_type_raw) like '%cell%' then 'mobile'
            when lower(contact_type_raw) like '%домашн%' or lower(contact_type_raw) like '%home%' then 'home'
        end as contact_usage
    from typed
)

select * from final
