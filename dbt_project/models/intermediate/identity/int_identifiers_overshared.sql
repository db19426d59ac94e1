-- Identifiers that cannot name one person: a shop's switchboard phone typed into many records, or a
-- role mailbox (info@, sales@ ...). They are reported here and never used to link records.
-- "Many" counts people, not records: records with the same name key (int_identity_records) are
-- one person however often a system duplicated them, and a nameless record counts as one. It is
-- counted within one system (the same person legitimately appears once in each of the CRM, 1C,
-- the spreadsheets and two mailing tools, whereas a switchboard number piles up inside the
-- system where it is typed; each spreadsheet mapping entry counts as a system of its own), and
-- also across all systems by distinct names (a number given by more differently named people
-- than a household has is nobody's).
with identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
),

records as (
    select record_key, person_key from {{ ref('int_identity_records') }}
),

-- Only a value held by more records than the limit can be held by more people than it (people
-- and differently named people are both counted among its records), or a role mailbox: the
-- groupings below run over those few values, not over every identifier (at 1 M people, one
-- grouping of the 4 M rows instead of four).
candidates as (
    select identifier_type, identifier_value
    from identifiers
    group by 1, 2
    having count(*) > {{ var('identity_max_records_per_identifier') }}
        or (identifier_type = 'email' and regexp_matches(identifier_value, '{{ role_mailbox_pattern() }}'))
),

held as (
    select identifiers.*, records.person_key, coalesce(records.person_key, identifiers.record_key) as holder
    from identifiers
    semi join candidates using (identifier_type, identifier_value)
    left join records using (record_key)
),

-- Distinct counts as two groupings (holders first, then counted): a distinct count keeps a set per
-- group. A record holds a value once (int_identifiers_unioned), so its records are its rows.
per_holder as (
    select identifier_type, identifier_value, source_system, holder, count(*) as records
    from held
    group by 1, 2, 3, 4
),

per_system as (
    select
        identifier_type,
        identifier_value,
        source_system,
        cast(sum(records) as bigint) as records_in_system,
        count(*) as people_in_system
    from per_holder
    group by 1, 2, 3
),

named_people as (
    select identifier_type, identifier_value, count(*) as named_people
    from (
        select distinct identifier_type, identifier_value, person_key
        from held
        where person_key is not null
    )
    group by 1, 2
),

counted as (
    select
        identifier_type,
        identifier_value,
        sum(records_in_system) as record_count,
        max(people_in_system) as max_people_in_one_system,
        arg_max(source_system, people_in_system) as busiest_system
    from per_system
    group by 1, 2
),

final as (
    select
        counted.identifier_type,
        counted.identifier_value,
        counted.record_count,
        case
            when counted.identifier_type = 'email'
                 and regexp_matches(counted.identifier_value, '{{ role_mailbox_pattern() }}')
                then 'role mailbox'
            when counted.max_people_in_one_system > {{ var('identity_max_records_per_identifier') }}
                then counted.max_people_in_one_system || ' people in ' || counted.busiest_system
            when counted.identifier_type in ('phone', 'email')
                 and coalesce(named_people.named_people, 0) > {{ var('identity_max_records_per_identifier') }}
                then named_people.named_people || ' differently named people'
        end as reason
    from counted
    left join named_people using (identifier_type, identifier_value)
)

select * from final where reason is not null
