-- Sales documents (РеализацияТоваровУслуг): one row per document. Numbers restart every year in
-- 1C, so sale_id (Ref_Key) is the key, not the number.
with source as (
    select * from {{ source('onec', 'sales') }}
),

renamed as (
    select
        "Ref_Key" as sale_id,
        "Number" as sale_number,
        {{ local_to_utc('"Date"', var('onec_timezone', 'Europe/Moscow')) }} as sold_at,
        "Posted" as is_posted,
        "DeletionMark" as is_deleted,
        nullif("Контрагент_Key", '00000000-0000-0000-0000-000000000000') as counterparty_record_id,
        nullif("Склад_Key", '00000000-0000-0000-0000-000000000000') as store_id,
        cast("СуммаДокумента" as double) as total_amount,
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
