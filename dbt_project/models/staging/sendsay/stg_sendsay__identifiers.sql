-- The `identifiers` shape: a member's e-mail address (member.email of an e-mail member) and the
-- phone typed into its anketa (custom.phone), each as Sendsay holds it; validity and
-- normalisation are decided centrally.
with members as (
    select * from {{ ref('stg_sendsay__members') }}
),

emails as (
    select member_record_id, 'email' as identifier_type, email_raw as identifier_raw
    from members
    where email_raw is not null
),

phones as (
    select member_record_id, 'phone', phone_raw
    from members
    where phone_raw is not null
),

unioned as (
    select * from emails
    union all
    select * from phones
),

final as (
    select
        'sendsay' as source_system,
        member_record_id as source_record_id,
        identifier_type,
        identifier_raw,
        1 as identifier_position,
        cast(null as varchar) as identifier_usage
    from unioned
)

select * from final
