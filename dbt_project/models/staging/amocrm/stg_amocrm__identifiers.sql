-- Cross-system shape identifiers: every phone and e-mail value of an amoCRM contact's PHONE and
-- EMAIL fields, as typed, in the order amoCRM lists them, with the value's type (enum_code: work,
-- mob, home, priv, ...) as identifier_usage. Normalisation, validity and the "work landline is a
-- switchboard" rule are decided centrally.
with phones as (
    select * from {{ ref('stg_amocrm__contact_phones') }}
),

emails as (
    select * from {{ ref('stg_amocrm__contact_emails') }}
),

unioned as (
    select
        contact_record_id,
        'phone' as identifier_type,
        phone_raw as identifier_raw,
        phone_position as identifier_position,
        lower(phone_label) as identifier_usage
    from phones
    union all
    select
        contact_record_id,
        'email',
        email_raw,
        email_position,
        lower(email_label)
    from emails
),

final as (
    select
        'amocrm' as source_system,
        contact_record_id as source_record_id,
        identifier_type,
        identifier_raw,
        cast(identifier_position as integer) as identifier_position,
        identifier_usage
    from unioned
)

select * from final
