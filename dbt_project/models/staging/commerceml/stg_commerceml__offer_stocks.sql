with source as (
    select * from {{ source('commerceml', 'offer_stocks') }}
),

final as (
    select
        offer_id,
        nullif(warehouse_id, '') as warehouse_id,
        try_cast(replace(quantity, ',', '.') as double) as quantity,
        source_file,
        _dlt_load_id as load_id
    from source
)

select * from final
