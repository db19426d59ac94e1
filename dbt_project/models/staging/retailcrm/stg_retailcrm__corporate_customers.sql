-- One row per corporate customer (a company account). Its contact persons are individual
-- customers of the same CRM: their ids are `customer_record_id`s of stg_retailcrm__customers
-- (one row per link in stg_retailcrm__corporate_customer_contacts).
with source as (
    select * from {{ raw_table('retailcrm', 'customers_corporate') }}
),

renamed as (
    select
        cast(id as varchar) as corporate_customer_id,
        nullif(external_id, '') as external_id,
        nullif(trim(nick_name), '') as nick_name,
        site,
        {{ local_to_utc('created_at', 'retailcrm') }} as created_at,
        cast(main_company->>'$.id' as varchar) as main_company_id,
        main_company->>'$.name' as company_name,
        cast(main_customer_contact->>'$.customer.id' as varchar) as main_contact_customer_record_id,
        list_transform(
            coalesce(from_json(customer_contacts, '["json"]'), []),
            lambda c: c->>'$.customer.id'
        ) as contact_customer_record_ids,
        coalesce(vip, false) as is_vip,
        coalesce(bad, false) as is_bad,
        coalesce(is_deleted, false) as is_deleted,
        {{ local_to_utc('deleted_at', 'retailcrm') }} as deleted_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
