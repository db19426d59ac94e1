-- Grain: one row per customer and channel any source mentions, derived from consent per address:
-- the customer may be reached on the channel through the addresses listed in
-- `consented_addresses` (and only those). A customer whose every address is revoked or unknown
-- has has_consent false.
with addresses as (
    select * from {{ ref('consent_current') }} where customer_id is not null
),

final as (
    select
        customer_id,
        channel,
        bool_or(has_consent) as has_consent,
        list(address order by address) filter (where has_consent) as consented_addresses,
        count(*) filter (where not has_consent) as addresses_without_consent,
        max(last_granted_at) as last_granted_at,
        max(last_revoked_at) as last_revoked_at
    from addresses
    group by 1, 2
)

select * from final
