with source as (
    select * from {{ raw_table('onec', 'products') }}
),

final as (
    select
        "Ref_Key" as product_id,
        nullif(trim("Code"), '') as product_code,
        nullif(trim("Артикул"), '') as article,
        "Description" as product_name,
        nullif("Parent_Key", '00000000-0000-0000-0000-000000000000') as parent_product_id,
        "IsFolder" as is_folder,
        "DeletionMark" as is_deleted,
        "DataVersion" as data_version,
        _dlt_load_id as load_id
    from source
)

select * from final
