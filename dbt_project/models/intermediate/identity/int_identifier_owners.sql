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
    having count(distinct identity.customer_id) = 1
)

select * from final
