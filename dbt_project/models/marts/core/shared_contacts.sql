-- Grain: one row per pair of records that share a phone or e-mail but are not one person (their
-- names or birth dates conflict): a household phone, a relative's number typed on someone's card,
-- a number that changed hands. Kept as a relation (who shares a contact with whom, e.g. for
-- household-level offers) instead of being thrown away; identity never links through it, and
-- consent stays per address, so one person's consent never reaches the other.
with shared as (
    select * from {{ ref('int_identity_pairs_shared') }}
    where is_shared_contact
),

assigned as (
    select record_key, customer_id from {{ ref('int_customer_ids_assigned') }}
),

final as (
    select
        shared.record_key_a,
        shared.record_key_b,
        a.customer_id as customer_id_a,
        b.customer_id as customer_id_b,
        array_to_string(list_sort(list_distinct(list_transform(
            list_filter(shared.evidence, lambda e: e like '%: shared contact'), lambda e: split_part(e, ':', 1)))), ', ')
            as shared_identifier_types,
        a.customer_id = b.customer_id as is_same_customer
    from shared
    join assigned as a on a.record_key = shared.record_key_a
    join assigned as b on b.record_key = shared.record_key_b
)

select * from final
