-- Mistyped spellings of a known switchboard: a phone libphonenumber rejects whose digits are an
-- overshared number (int_identifiers_overshared, which only valid numbers reach) with the trunk
-- prefix doubled or mixed (`8-849-512-34-567`, `784951234567`), an extra leading digit, or the
-- first digit of the area code lost. Such a value is the shop's switchboard, not an invalid
-- phone and not a person: it is listed here instead of in int_identifier_issues, and like the
-- switchboard itself it links nothing.
with invalid as (
    select phone_raw, regexp_replace(phone_raw, '[^0-9]', '', 'g') as digits
    from {{ ref('int_phone_numbers_parsed') }}
    where phone is null
),

switchboards as (
    select identifier_value as phone, substr(identifier_value, 3) as national
    from {{ ref('int_identifiers_overshared') }}
    where identifier_type = 'phone' and identifier_value like '+7%' and length(identifier_value) = 12
),

matched as (
    select
        invalid.phone_raw,
        switchboards.phone as switchboard_phone,
        case
            when right(invalid.digits, 10) = switchboards.national
                 and regexp_full_match(left(invalid.digits, length(invalid.digits) - 10), '[0-9]?[78]{1,2}')
                then 'extra or doubled prefix'
            when invalid.digits in ('7' || substr(switchboards.national, 2), '8' || substr(switchboards.national, 2),
                                    substr(switchboards.national, 2))
                then 'missing leading digit'
        end as variant
    from invalid
    join switchboards on right(invalid.digits, 9) = right(switchboards.national, 9)
),

final as (
    select distinct on (phone_raw) phone_raw, switchboard_phone, variant
    from matched
    where variant is not null
    order by phone_raw, switchboard_phone
)

select * from final
