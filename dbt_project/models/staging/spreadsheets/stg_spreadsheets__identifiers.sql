-- Shape identifiers: the e-mail, every phone (several per cell, then the second phone column) and
-- the loyalty card of each spreadsheet row, as written (phones and e-mails are normalised once,
-- centrally). A card only where the mapping maps a card column: an event sign-up's row number is
-- not a card.
with members as (
    select * from {{ ref('stg_spreadsheets__members') }}
),

phones as (
    select * from {{ ref('stg_spreadsheets__member_phones') }}
),

emails as (
    select source_system, source_record_id, 'email' as identifier_type, email_raw as identifier_raw,
        1 as identifier_position
    from members
    where email_raw is not null
),

phone_numbers as (
    select source_system, source_record_id, 'phone', phone_raw, phone_position
    from phones
),

cards as (
    select source_system, source_record_id, 'loyalty_card', loyalty_card, 1
    from members
    where loyalty_card is not null
),

unioned as (
    select * from emails
    union all
    select * from phone_numbers
    union all
    select * from cards
),

final as (
    select
        source_system,
        source_record_id,
        identifier_type,
        identifier_raw,
        cast(identifier_position as integer) as identifier_position,
        cast(null as varchar) as identifier_usage
    from unioned
)

select * from final
