-- One row per phone a CRM customer carries (RetailCRM keeps a list, as typed).
with customers as (
    select customer_record_id, phones from {{ ref('stg_retailcrm__customers') }}
),

unnested as (
    select
        customer_record_id,
        unnest(range(cast(json_array_length(phones) as bigint))) as phone_position,
        phones
    from customers
    where json_array_length(phones) > 0
),

final as (
    select
        customer_record_id,
        phone_position + 1 as phone_position,
        phones->>('$[' || phone_position || '].number') as phone_raw,
        phone_e164(phones->>('$[' || phone_position || '].number')) as phone,
        phone_issue(phones->>('$[' || phone_position || '].number')) as phone_issue,
        phone_kind(phones->>('$[' || phone_position || '].number')) as phone_kind
    from unnested
)

select * from final
