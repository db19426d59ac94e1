-- Grain: one row per source record. The public answer to "which customer is this record?", and
-- why: the strongest link that placed the record with the others (a rule, or the probabilistic
-- pass with its score), or `single record` when nothing joined it.
-- Ids come from the persistent registry (int_customer_ids_assigned), not from the cluster itself.
with records as (
    select record_key, source_system, source_record_id from {{ ref('int_source_records_unioned') }}
),

assigned as (
    select record_key, customer_id, assigned_at from {{ ref('int_customer_ids_assigned') }}
),

links as (
    select record_key_a as record_key, rule, score from {{ ref('int_identity_links') }}
    union all
    select record_key_b, rule, score from {{ ref('int_identity_links') }}
),

strongest as (
    select
        record_key,
        -- Two rules of equal weight (a 1C code and a 1C reference, both 1.0) are told apart by
        -- name, so the same links always name the same rule (a hash aggregate's order does not).
        arg_max(rule, (score * 10 + case rule when 'onec_code' then 6 when 'onec_ref' then 6 when 'loyalty_card' then 5
                                             when 'email' then 4 when 'phone' then 3 when 'name_birthday' then 2
                                             when 'repaired_email' then 1 else 0 end, rule)) as link_rule,
        max(score) as link_score
    from links
    group by 1
),

final as (
    select
        records.source_system,
        records.source_record_id,
        assigned.customer_id,
        records.record_key,
        assigned.assigned_at,
        coalesce(strongest.link_rule, 'single record') as link_rule,
        strongest.link_score
    from records
    join assigned using (record_key)
    left join strongest using (record_key)
)

select * from final
