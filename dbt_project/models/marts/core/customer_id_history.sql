-- Grain: one row per customer id event (created, merged, split), oldest first. Kept in the
-- identity state folder, so it survives rebuilds; this model only shows it. A `merged` row says
-- customer_id was retired in favour of related_customer_id: anything stored under the retired id
-- (a synced audience, an analyst's list) belongs to the survivor now.
with events as (
    select * from read_parquet('{{ identity_state_dir() }}/customer_id_events.parquet')
),

-- dbt must build the assignment (which writes the file) before reading it.
assigned as (
    select count(*) as n from {{ ref('int_customer_ids_assigned') }}
),

final as (
    select event_id, event_at, event_kind, customer_id, related_customer_id, record_count
    from events
    where (select n from assigned) >= 0
)

select * from final
