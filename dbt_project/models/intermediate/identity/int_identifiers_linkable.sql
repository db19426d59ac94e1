with identifiers as (
    select * from {{ ref('int_identifiers_unioned') }}
),

overshared as (
    select identifier_type, identifier_value from {{ ref('int_identifiers_overshared') }}
),

final as (
    select identifiers.*
    from identifiers
    anti join overshared using (identifier_type, identifier_value)
)

select * from final
