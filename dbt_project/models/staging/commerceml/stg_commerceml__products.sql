with source as (
    select * from {{ raw_table('commerceml', 'products') }}
),

final as (
    select
        product_id,
        nullif(trim(article), '') as article,
        nullif(trim(barcode), '') as barcode,
        regexp_replace(trim(name), '\s+', ' ', 'g') as product_name,
        base_unit,
        unit_code,
        group_ids,
        coalesce(deletion_mark, false) as is_deleted,
        version,
        catalog_id,
        source_file,
        _dlt_load_id as load_id
    from source
)

select * from final
