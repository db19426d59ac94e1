with source as (
    select * from {{ raw_table('commerceml', 'offer_prices') }}
),

final as (
    select
        offer_id,
        price_type_id,
        price_type_name,
        try_cast(replace(replace(replace(price, ' ', ''), chr(160), ''), ',', '.') as decimal(18, 2)) as unit_price,
        case when lower(trim(currency)) in ('руб', 'руб.', 'rub', '643') then 'RUB' else upper(trim(currency)) end as currency,
        source_file,
        _dlt_load_id as load_id
    from source
)

select * from final
