-- Grain: one row per source record. The public answer to "which customer is this record?".
-- Ids come from the persistent registry (int_customer_ids_assigned), not from the cluster itself.
with records as (
    select record_key, source_system, source_record_id from {{ ref('int_source_records_unioned') }}
),

assigned as (
    select record_key, customer_id, assigned_at from {{ ref('int_customer_ids_assigned') }}
),

final as (
    select
        records.source_system,
        records.source_record_id,
        assigned.customer_id,
        records.record_key,
        assigned.assigned_at
    from records
    join assigned using (record_key)
)

select * from final
