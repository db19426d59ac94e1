-- Lines of the Товары table part. 1C sends numbers as JSON numbers (dlt typed them double):
-- cast straight to decimal, money to the kopeck, quantities to three places.
with source as (
    select * from {{ raw_table('onec', 'sale_items') }}
),

final as (
    select
        "Ref_Key" as sale_id,
        cast("LineNumber" as integer) as line_number,
        "Ref_Key" || ':' || "LineNumber" as sale_item_id,
        nullif("Номенклатура_Key", '00000000-0000-0000-0000-000000000000') as product_id,
        cast("Количество" as decimal(18, 3)) as quantity,
        cast("Цена" as decimal(18, 2)) as unit_price,
        cast("Сумма" as decimal(18, 2)) as amount,
        "СтавкаНДС" as vat_rate,
        cast("СуммаНДС" as decimal(18, 2)) as vat_amount,
        _dlt_load_id as load_id
    from source
)

select * from final
