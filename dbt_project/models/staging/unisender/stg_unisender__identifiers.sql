-- The `identifiers` shape: a contact's one identifier is its e-mail, as the export wrote it
-- (validity and normalisation are decided centrally, in intermediate).
with contacts as (
    select * from {{ ref('stg_unisender__contacts') }}
),

final as (
    select
        'unisender' as source_system,
        contact_record_id as source_record_id,
        'email' as identifier_type,
        email_raw as identifier_raw,
        1 as identifier_position,
        cast(null as varchar) as identifier_usage
    from contacts
    where email_raw is not null
)

select * from final
