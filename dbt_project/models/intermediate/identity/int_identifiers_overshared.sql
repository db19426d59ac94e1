-- Identifiers that cannot name one person: a shop's switchboard phone typed into many records, or a
-- role mailbox (info@, sales@ ...). They are reported here and never used to link records.
-- "Many" is counted within one system: the same person legitimately appears once in each of the
-- CRM, 1C, the spreadsheets and two mailing tools, but hardly ever in more than a few records of
-- one system, whereas a switchboard number piles up inside the system where it is typed. Each
-- spreadsheet mapping entry counts as a system of its own.
with identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
),

per_system as (
    select
        identifier_type,
        identifier_value,
        source_system,
        count(distinct record_key) as records_in_system
    from identifiers
    group by 1, 2, 3
),

counted as (
    select
        identifier_type,
        identifier_value,
        sum(records_in_system) as record_count,
        max(records_in_system) as max_records_in_one_system,
        arg_max(source_system, records_in_system) as busiest_system
    from per_system
    group by 1, 2
),

final as (
    select
        identifier_type,
        identifier_value,
        record_count,
        case
            when identifier_type = 'email'
                 and regexp_matches(identifier_value, '^(info|sales|admin|office|support|noreply|no-reply|mail|zakaz|order|shop)@')
                then 'role mailbox'
            when max_records_in_one_system > {{ var('identity_max_records_per_identifier') }}
                then max_records_in_one_system || ' records in ' || busiest_system
        end as reason
    from counted
)

select * from final where reason is not null
