with source as (
    select * from {{ source('onec', 'sale_items') }}
),

final as (
    select
        "Ref_Key" as sale_id,
        cast("LineNumber" as integer) as line_number,
        "Ref_Key" || ':' || "LineNumber" as sale_item_id,
        nullif("Номенклатура_Key", '00000000-0000-0000-0000-000000000000') as product_id,
        cast("Количество" as double) as quantity,
        cast("Цена" as double) as unit_price,
        cast("Сумма" as double) as amount,
        "СтавкаНДС" as vat_rate,
        cast("СуммаНДС" as double) as vat_amount,
        _dlt_load_id as load_id
    from source
)

select * from final
