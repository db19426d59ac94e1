-- Contacts and ids of the 1C cards of individuals, as 1C holds them (phones and e-mails are
-- normalised centrally). Only person cards carry identifiers (a company's or the retail-buyer
-- card's phone would link strangers).
with people as (
    select counterparty_record_id, onec_code
    from {{ ref('stg_onec__counterparties') }}
    where is_person
),

contacts as (
    select * from {{ ref('stg_onec__counterparty_contacts') }}
    where contact_type in ('Телефон', 'АдресЭлектроннойПочты') and value_raw is not null
),

-- Every phone and e-mail line of the КонтактнаяИнформация table part, numbered in the card's
-- line order within its kind. The line's kind (Вид_Key) is a reference to the
-- ВидыКонтактнойИнформации catalog, which is not loaded, so 1C does not tell us its usage here.
contact_lines as (
    select
        contacts.counterparty_record_id,
        case contacts.contact_type when 'Телефон' then 'phone' else 'email' end as identifier_type,
        contacts.value_raw as identifier_raw,
        cast(row_number() over (
            partition by contacts.counterparty_record_id, contacts.contact_type
            order by contacts.line_number
        ) as integer) as identifier_position,
        cast(null as varchar) as identifier_usage
    from contacts
    semi join people using (counterparty_record_id)
),

-- The 1C card's Code is the id RetailCRM's 1C exchange writes into the customer's externalId:
-- the same person in both systems, whatever their contacts say.
codes as (
    select counterparty_record_id, 'onec_code', onec_code, 1, cast(null as varchar)
    from people
    where onec_code is not null
),

-- A CommerceML buyer exported by 1C carries the card's Ref_Key as its Ид (lower case on both sides).
refs as (
    select counterparty_record_id, 'onec_ref', lower(counterparty_record_id), 1, cast(null as varchar)
    from people
),

unioned as (
    select * from contact_lines
    union all select * from codes
    union all select * from refs
),

final as (
    select
        'onec' as source_system,
        counterparty_record_id as source_record_id,
        identifier_type,
        identifier_raw,
        identifier_position,
        identifier_usage
    from unioned
)

select * from final
