{{ union_config('orders') }}
-- Every enabled system's orders (stg_<system>__orders), one shape, by column name. The buyer's
-- record is named in the system that holds it (`customer_source_system`, default the exporting
-- system), whether or not that system exported a person file.
with unioned as (
    {{ union_shape('orders') }}
),

final as (
    select
        source_system || ':' || source_order_id as order_id,
        * replace (coalesce(customer_source_system, source_system) as customer_source_system),
        case when customer_record_id is not null
             then coalesce(customer_source_system, source_system) || ':' || customer_record_id end as customer_record_key
    from unioned
)

select * from final
