with source as (
    select * from {{ raw_table('commerceml', 'order_items') }}
),

final as (
    select
        order_id,
        cast(line_number as integer) as line_number,
        order_id || ':' || line_number as order_item_id,
        product_id,
        catalog_id,
        regexp_replace(trim(name), '\s+', ' ', 'g') as product_name,
        unit,
        try_cast(replace(replace(replace(quantity, ' ', ''), chr(160), ''), ',', '.') as decimal(18, 3)) as quantity,
        try_cast(replace(replace(replace(price, ' ', ''), chr(160), ''), ',', '.') as decimal(18, 2)) as unit_price,
        try_cast(replace(replace(replace(amount, ' ', ''), chr(160), ''), ',', '.') as decimal(18, 2)) as amount,
        _dlt_load_id as load_id
    from source
)

select * from final
