-- Contacts and ids of the CommerceML buyers that are people, as the files give them (phones and
-- e-mails are normalised centrally).
with people as (
    select counterparty_record_id, onec_ref
    from {{ ref('stg_commerceml__counterparties') }}
    where is_person
),

contacts as (
    select * from {{ ref('stg_commerceml__counterparty_contacts') }}
    where contact_type in ('email', 'phone') and value_raw is not null
),

-- Every e-mail and phone Контакт, numbered in the file's order within its kind; the usage is
-- what the contact's type says (Телефон рабочий -> work), null when it says nothing.
contact_values as (
    select
        contacts.counterparty_record_id,
        contacts.contact_type as identifier_type,
        contacts.value_raw as identifier_raw,
        cast(row_number() over (
            partition by contacts.counterparty_record_id, contacts.contact_type
            order by contacts.position
        ) as integer) as identifier_position,
        contacts.contact_usage as identifier_usage
    from contacts
    semi join people using (counterparty_record_id)
),

-- A CommerceML buyer exported by 1C carries the card's Ref_Key as its Ид; a site's own ids
-- (`user id#login#name`) are not 1C refs and link nothing.
refs as (
    select counterparty_record_id, 'onec_ref', onec_ref, 1, cast(null as varchar)
    from people
    where regexp_full_match(onec_ref, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')
),

unioned as (
    select * from contact_values
    union all select * from refs
),

final as (
    select
        'commerceml' as source_system,
        counterparty_record_id as source_record_id,
        identifier_type,
        identifier_raw,
        identifier_position,
        identifier_usage
    from unioned
)

select * from final
