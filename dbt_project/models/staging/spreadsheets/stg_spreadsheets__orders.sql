-- One row per order row of every mapped orders file (1C retail sales, a shop's order history, ...):
-- the entity model and the cross-system `orders` shape in one (source_system = the mapping entry).
-- Every row counts as an order: till receipts of a 1C retail-sales export are completed, returned
-- or cancelled sales. The buyer is the record customer_record_id names in customer_source_system
-- (the members entry the mapping's customer_ref_mapping names, else the exporting entry itself,
-- whether or not it exported a person file), else a phone or e-mail, else nobody (is_anonymous: a
-- till sale to "Розничный покупатель").
with source as (
    select * from {{ raw_table('spreadsheets', 'orders') }}
),

-- Raw keeps every file's rows (its key is the file and the record id). Where an entry's ids are
-- stable across exports (record_id_scope: entry, e.g. a CRM's customer id) the same record can be
-- in several files: the newest export's row is the record, so withdrawing a newer file brings the
-- older one's back. File- and year-scoped ids carry their scope and never meet here.
latest as (
    select * from source
    qualify row_number() over (
        partition by record_id
        order by file_exported_at desc nulls last, _dlt_load_id desc, source_file desc
    ) = 1
),

members as (
    select member_record_id, source_system, source_record_id from {{ ref('stg_spreadsheets__members') }}
),

renamed as (
    select
        record_id as order_record_id,
        mapping_name,
        source_record_id,
        nullif(trim(order_number), '') as order_number,
        source_file,
        source_sheet,
        try_cast(source_row as integer) as source_row,
        source_position,
        -- The connector writes an ISO date when the file gives only a date, and an ISO datetime
        -- (the till's wall-clock time, no offset) when it gives a time.
        nullif(trim(ordered_at), '') as ordered_at_text,
        contains(coalesce(ordered_at, ''), ':') as has_order_time,
        -- Money straight from text to decimal: never through a float.
        try_cast(amount as decimal(18, 2)) as amount,
        status,
        nullif(trim(status_raw), '') as status_raw,
        customer_source_system,
        nullif(trim(customer_record_id), '') as customer_record_id,
        nullif(regexp_replace(coalesce(customer_card, ''), '\s', '', 'g'), '') as customer_card,
        nullif(trim(customer_name), '') as customer_name_raw,
        nullif(trim(customer_phone), '') as customer_phone_raw,
        nullif(trim(customer_email), '') as customer_email_raw,
        nullif(trim(store), '') as store,
        _dlt_load_id as load_id
    from latest
),

dated as (
    select
        renamed.*,
        case when has_order_time then {{ local_to_utc('ordered_at_text', 'spreadsheets') }} end as ordered_at,
        -- Rows loaded before the connector named the buyer's entry carry the member's raw record id
        -- (the referenced entry's prefix and the reference): resolved through that member row.
        coalesce(renamed.customer_source_system, members.source_system) as buyer_source_system,
        case
            when renamed.customer_source_system is not null then renamed.customer_record_id
            else members.source_record_id
        end as buyer_record_id
    from renamed
    left join members
        on renamed.customer_source_system is null
        and members.member_record_id = renamed.customer_record_id
),

final as (
    select
        order_record_id,
        mapping_name as source_system,
        source_record_id as source_order_id,
        order_number,
        mapping_name,
        source_file,
        source_sheet,
        source_row,
        source_position,
        -- A date-only order keeps its date; a timed one is dated in the business time zone.
        case
            when has_order_time then {{ business_date('ordered_at') }}
            else try_cast(ordered_at_text as date)
        end as ordered_date,
        ordered_at,
        amount as total_amount,
        amount as net_amount,
        amount,
        -- The file's own word (Пробит, Возврат, ...), else the canonical one (default_status).
        coalesce(status_raw, status) as status,
        case status
            when 'complete' then 'completed'
            when 'cancelled' then 'cancelled'
            when 'returned' then 'returned'
            else 'in_progress'
        end as status_group,
        status as status_canonical,
        case when status is null then 'status not in the mapping''s vocabulary' end as status_issue,
        coalesce(buyer_source_system, mapping_name) as customer_source_system,
        buyer_record_id as customer_record_id,
        customer_card,
        customer_name_raw,
        customer_phone_raw,
        customer_email_raw,
        buyer_record_id is null and customer_phone_raw is null and customer_email_raw is null as is_anonymous,
        store,
        load_id
    from dated
)

select * from final
