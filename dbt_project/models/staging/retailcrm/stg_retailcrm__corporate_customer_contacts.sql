-- One row per contact person of a corporate customer: the link from the company account to an
-- individual customer (stg_retailcrm__customers.customer_record_id).
with corporate as (
    select corporate_customer_id, main_contact_customer_record_id, customer_contacts
    from (
        select
            cast(id as varchar) as corporate_customer_id,
            cast(main_customer_contact->>'$.customer.id' as varchar) as main_contact_customer_record_id,
            customer_contacts
        from {{ raw_table('retailcrm', 'customers_corporate') }}
    )
),

unnested as (
    select corporate_customer_id, main_contact_customer_record_id,
           unnest(from_json(customer_contacts, '["json"]')) as contact
    from corporate
    where json_array_length(customer_contacts) > 0
),

final as (
    select
        corporate_customer_id,
        cast(contact->>'$.id' as varchar) as contact_id,
        cast(contact->>'$.customer.id' as varchar) as customer_record_id,
        coalesce(cast(contact->>'$.isMain' as boolean), customer_record_id = main_contact_customer_record_id) as is_main
    from unnested
)

select * from final
