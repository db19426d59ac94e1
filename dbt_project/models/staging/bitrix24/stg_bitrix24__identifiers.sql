-- Cross-system shape identifiers: every entry of a Bitrix24 contact's PHONE and EMAIL multi-fields,
-- as typed, in the order Bitrix24 lists them, with VALUE_TYPE lower-cased (work, mobile, home, ...)
-- as identifier_usage. Normalisation and validity are decided centrally, and so is the rule that a
-- WORK landline on a wholesale contact is the employer's switchboard, shared by colleagues (often
-- fewer than the over-shared threshold), and does not identify a person: it needs the parsed
-- number's kind, so staging only carries identifier_usage = 'work'.
with phones as (
    select * from {{ ref('stg_bitrix24__contact_phones') }}
),

emails as (
    select * from {{ ref('stg_bitrix24__contact_emails') }}
),

unioned as (
    select
        contact_record_id,
        'phone' as identifier_type,
        phone_raw as identifier_raw,
        phone_position as identifier_position,
        lower(value_type) as identifier_usage
    from phones
    union all
    select
        contact_record_id,
        'email',
        email_raw,
        email_position,
        lower(value_type)
    from emails
),

final as (
    select
        'bitrix24' as source_system,
        contact_record_id as source_record_id,
        identifier_type,
        identifier_raw,
        cast(identifier_position as integer) as identifier_position,
        identifier_usage
    from unioned
)

select * from final
