-- Sales documents (РеализацияТоваровУслуг): one row per document. Numbers restart every year in
-- 1C, so sale_id (Ref_Key) is the key, not the number. `Date` is 1C's local wall-clock time
-- without an offset; 0001-01-01T00:00:00 is 1C's empty date.
with source as (
    select * from {{ raw_table('onec', 'sales') }}
),

renamed as (
    select
        "Ref_Key" as sale_id,
        "Number" as sale_number,
        {{ local_to_utc("nullif(\"Date\", '0001-01-01T00:00:00')", 'onec') }} as sold_at,
        "Posted" as is_posted,
        "DeletionMark" as is_deleted,
        nullif("Контрагент_Key", '00000000-0000-0000-0000-000000000000') as counterparty_record_id,
        nullif("Склад_Key", '00000000-0000-0000-0000-000000000000') as store_id,
        cast("СуммаДокумента" as decimal(18, 2)) as total_amount,
        "СуммаВключаетНДС" as amount_includes_vat,
        nullif(trim("Комментарий"), '') as comment,
        "DataVersion" as data_version,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        *,
        case
            when is_deleted then 'deleted'
            when not is_posted then 'draft'
            else 'completed'
        end as status_group
    from renamed
)

select * from final
