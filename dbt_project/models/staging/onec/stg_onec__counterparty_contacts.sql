-- One row per line of a counterparty's contact-information table part (phones, e-mails,
-- addresses), as typed. Older 1C releases fill only `Представление`; newer ones add
-- `НомерТелефона` / `АдресЭП`, which are used when the presentation is empty.
with source as (
    select "Ref_Key", "КонтактнаяИнформация" as contacts from {{ raw_table('onec', 'counterparties') }}
    where json_array_length("КонтактнаяИнформация") > 0
),

unnested as (
    select "Ref_Key" as counterparty_record_id, unnest(from_json(contacts, '["json"]')) as contact
    from source
),

final as (
    select
        counterparty_record_id,
        cast(contact->>'$.LineNumber' as integer) as line_number,
        contact->>'$.Тип' as contact_type,
        contact->>'$.Вид_Key' as contact_kind_id,
        coalesce(
            nullif(trim(contact->>'$.Представление'), ''),
            nullif(trim(contact->>'$.АдресЭП'), ''),
            nullif(trim(contact->>'$.НомерТелефона'), '')
        ) as value_raw
    from unnested
)

select * from final
