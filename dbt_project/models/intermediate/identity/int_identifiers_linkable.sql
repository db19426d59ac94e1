-- Identifiers that may link records: every normalised identifier except the overshared ones,
-- plus a second, stricter rule for records that share no contact detail: the same surname, given
-- name and birth date (folded: case, ё/е). Twins differ in given name; namesakes rarely share a
-- birthday; a combination held by more records than the overshared threshold is ignored like a
-- switchboard phone (counted within one system). These are candidates: int_identity_pairs_shared
-- compares the records on each side before a shared phone or e-mail links them.
with identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
),

overshared as (
    select identifier_type, identifier_value from {{ ref('int_identifiers_overshared') }}
),

records as (
    select * from {{ ref('int_source_records_unioned') }}
),

contact_identifiers as (
    select identifiers.record_key, identifiers.identifier_type, identifiers.identifier_value
    from identifiers
    anti join overshared using (identifier_type, identifier_value)
),

name_birthday as (
    select
        record_key,
        source_system,
        'name_birthday' as identifier_type,
        lower(replace(replace(surname, 'ё', 'е'), 'Ё', 'Е')) || '|'
            || lower(replace(replace(given_name, 'ё', 'е'), 'Ё', 'Е')) || '|'
            || cast(birth_date as varchar) as identifier_value
    from records
    where nullif(trim(surname), '') is not null
      and nullif(trim(given_name), '') is not null
      and birth_date is not null
),

name_birthday_counted as (
    select *, count(*) over (partition by identifier_value, source_system) as records_in_system
    from name_birthday
),

name_birthday_rare as (
    select record_key, identifier_type, identifier_value
    from name_birthday_counted
    qualify max(records_in_system) over (partition by identifier_value) <= {{ var('identity_max_records_per_identifier') }}
),

final as (
    select * from contact_identifiers
    union all
    select * from name_birthday_rare
)

select * from final
