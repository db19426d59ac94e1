with source as (
    select * from {{ raw_table('commerceml', 'offer_stocks') }}
),

final as (
    select
        offer_id,
        nullif(warehouse_id, '') as warehouse_id,
        try_cast(replace(replace(replace(quantity, ' ', ''), chr(160), ''), ',', '.') as decimal(18, 3)) as quantity,
        source_file,
        _dlt_load_id as load_id
    from source
)

select * from final
