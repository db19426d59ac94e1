-- Which customer a linkable identifier (e-mail, phone) belongs to, for facts that name a person
-- only by an address or number (campaign events, till receipts). An identifier whose records
-- resolved to more than one customer, or that is overshared, names nobody: such facts stay
-- unattributed rather than credited to an arbitrary person.
with identifiers as (
    select * from {{ ref('int_identifiers_linkable') }}
),

identity as (
    select record_key, customer_id from {{ ref('int_customer_ids_assigned') }}
),

final as (
    select identifiers.identifier_type, identifiers.identifier_value, min(identity.customer_id) as customer_id
    from identifiers
    join identity using (record_key)
    group by 1, 2
    -- One customer: the least and the greatest agree (a distinct count keeps a set per identifier).
    having min(identity.customer_id) = max(identity.customer_id)
)

select * from final
