-- Offers (SKUs): a product, or a product in one characteristic (`product#characteristic`).
with source as (
    select * from {{ raw_table('commerceml', 'offers') }}
),

final as (
    select
        offer_id,
        product_id,
        characteristic_id,
        nullif(trim(article), '') as article,
        regexp_replace(trim(name), '\s+', ' ', 'g') as offer_name,
        try_cast(replace(replace(replace(quantity, ' ', ''), chr(160), ''), ',', '.') as decimal(18, 3)) as quantity_total,
        coalesce(deletion_mark, false) as is_deleted,
        version,
        source_file,
        _dlt_load_id as load_id
    from source
)

select * from final
