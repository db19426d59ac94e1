-- Identifiers that cannot name one person: a shop's switchboard phone typed into many records, or a
-- role mailbox (info@, sales@ ...). They are reported here and never used to link records.
with identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
),

counted as (
    select identifier_type, identifier_value, count(distinct record_key) as record_count
    from identifiers
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
            when record_count > {{ var('identity_max_records_per_identifier') }}
                then 'shared by ' || record_count || ' records'
        end as reason
    from counted
)

select * from final where reason is not null
