-- Grain: one row per channel and address that any source mentions; whether it may be used, the
-- proof, and the customer that holds it. The rules are applied per address before identity
-- resolution (int_consent_addresses); this model only names the customer, so it is the one consent
-- step that waits for identity.
-- customer_id: the customer whose record gave the latest dated grant, else whoever the latest event
-- with a customer names (undated last; ties: the smaller id). Several customers may share a
-- household phone: the address's consent is still one.
with identity as (
    select record_key, customer_id from {{ ref('customer_identity_map') }}
),

owner as (
    select records.channel, records.address_type, records.address,
           arg_min(identity.customer_id, {'at': records.latest_key, 'id': identity.customer_id}) as customer_id
    from {{ ref('int_consent_address_records') }} as records
    join identity using (record_key)
    where identity.customer_id is not null
    group by 1, 2, 3
)

select
    addresses.channel,
    addresses.address_type,
    addresses.address,
    coalesce(granting.customer_id, owner.customer_id) as customer_id,
    addresses.has_consent,
    addresses.last_granted_at,
    addresses.last_revoked_at,
    addresses.has_standing_revocation,
    addresses.revoked_by,
    addresses.revocation_evidence,
    addresses.granting_event_id,
    addresses.granted_by,
    addresses.grant_evidence
from {{ ref('int_consent_addresses') }} as addresses
left join identity as granting on granting.record_key = addresses.granting_record_key
left join owner using (channel, address_type, address)
