-- Order documents (Документ). Дата/Время are the exporting side's local time; sums may carry 2
-- or 4 decimals, a comma or spaces (kept as decimal(18,2)); Bitrix puts status and flags into
-- name/value requisites.
-- Not offered as cross-system orders (no stg_commerceml__orders shape in cdp/systems.py): these
-- documents are the same 1C sales for the web site, so counting them beside 1C's own sales would
-- double the revenue. Their buyers are still person records (stg_commerceml__person_records).
with source as (
    select * from {{ raw_table('commerceml', 'orders') }}
),

renamed as (
    select
        order_id,
        nullif(trim(number), '') as order_number,
        coalesce(
            try_strptime(order_date || ' ' || coalesce(order_time, '00:00:00'), '%Y-%m-%d %H:%M:%S'),
            try_strptime(order_date || ' ' || coalesce(order_time, '00:00:00'), '%d.%m.%Y %H:%M:%S')
        ) as ordered_at_local,
        operation,
        case when lower(trim(currency)) in ('руб', 'руб.', 'rub', '643') then 'RUB' else upper(trim(currency)) end as currency,
        try_cast(replace(replace(replace(amount, ' ', ''), chr(160), ''), ',', '.') as decimal(18, 2)) as total_amount,
        counterparty_id as counterparty_record_id,
        nullif(trim(status), '') as order_status,
        try_cast(requisites->>'$."Заказ оплачен"' as boolean) as is_paid,
        try_cast(requisites->>'$."Отменен"' as boolean) as is_cancelled,
        try_cast(requisites->>'$."Проведен"' as boolean) as is_posted,
        coalesce(deletion_mark, false) as is_deleted,
        nullif(trim(comment), '') as comment,
        source_file,
        schema_version,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        order_id,
        order_number,
        {{ local_to_utc('ordered_at_local', 'commerceml') }} as ordered_at,
        operation,
        currency,
        total_amount,
        counterparty_record_id,
        order_status,
        is_paid,
        is_cancelled,
        is_posted,
        is_deleted,
        comment,
        source_file,
        schema_version,
        load_id
    from renamed
)

select * from final
