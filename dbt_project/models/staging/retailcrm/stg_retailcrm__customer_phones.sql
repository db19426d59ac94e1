-- One row per phone a CRM customer carries (RetailCRM keeps a list, as typed; it says nothing of
-- what a number is for). phone_position is the number's 1-based place in the list, counting only
-- non-empty entries (as the other CRMs' multi-value fields are numbered).
with customers as (
    select customer_record_id, phones from {{ ref('stg_retailcrm__customers') }}
    where json_type(phones) = 'ARRAY' and json_array_length(phones) > 0
),

unnested as (
    select
        customer_record_id,
        unnest(range(cast(json_array_length(phones) as bigint))) as phone_index,
        phones
    from customers
),

typed as (
    select
        customer_record_id,
        phone_index,
        nullif(trim(phones->>('$[' || phone_index || '].number')), '') as phone_raw
    from unnested
),

final as (
    select
        customer_record_id,
        cast(row_number() over (partition by customer_record_id order by phone_index) as integer) as phone_position,
        phone_raw
    from typed
    where phone_raw is not null
)

select * from final
