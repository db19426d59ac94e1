with source as (
    select * from {{ source('commerceml', 'order_items') }}
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
        try_cast(replace(quantity, ',', '.') as double) as quantity,
        try_cast(replace(price, ',', '.') as double) as unit_price,
        try_cast(replace(amount, ',', '.') as double) as amount,
        _dlt_load_id as load_id
    from source
)

select * from final
