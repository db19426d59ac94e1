-- Grain: one row per source record. The public answer to "which customer is this record?".
with records as (
    select record_key, source_system, source_record_id from {{ ref('int_source_records_unioned') }}
),

components as (
    select record_key, cluster_key from {{ ref('int_identity_components') }}
),

final as (
    select
        records.source_system,
        records.source_record_id,
        'cus_' || substr(md5(components.cluster_key), 1, 16) as customer_id,
        records.record_key
    from records
    join components using (record_key)
)

select * from final
