-- Grain: one row per customer (a connected cluster of source records).
-- Survivorship: for name and e-mail the most trusted source wins (CRM, then spreadsheet, then the
-- mailing tool), and within a source the most recently created record; phones come from the CRM
-- first, then the spreadsheet. Identifiers that are shared by many records never survive.
with identity as (
    select * from {{ ref('customer_identity_map') }}
),

records as (
    select r.*, i.customer_id,
        case r.source_system when 'retailcrm' then 1 when 'spreadsheets' then 2 else 3 end as source_rank
    from {{ ref('int_source_records_unioned') }} r
    join identity i using (record_key)
),

best_name as (
    select distinct on (customer_id) customer_id, surname, given_name, patronymic, birth_date
    from records
    where given_name is not null or surname is not null
    order by customer_id, source_rank, record_created_at desc nulls last, record_key
),

best_email as (
    select distinct on (customer_id) customer_id, email
    from records
    where email is not null
      and email not in (select identifier_value from {{ ref('int_identifiers_overshared') }} where identifier_type = 'email')
    order by customer_id, source_rank, record_created_at desc nulls last, record_key
),

phones as (
    select i.customer_id, p.phone, 1 as source_rank, p.phone_position as position
    from {{ ref('stg_retailcrm__customer_phones') }} p
    join identity i on i.source_system = 'retailcrm' and i.source_record_id = p.customer_record_id
    where p.phone is not null
    union all
    select i.customer_id, m.phone, 2, 1
    from {{ ref('stg_spreadsheets__members') }} m
    join identity i on i.source_system = 'spreadsheets' and i.source_record_id = m.member_record_id
    where m.phone is not null
),

best_phone as (
    select distinct on (customer_id) customer_id, phone
    from phones
    where phone not in (select identifier_value from {{ ref('int_identifiers_overshared') }} where identifier_type = 'phone')
    order by customer_id, source_rank, position, phone
),

sources as (
    select
        customer_id,
        count(*) as source_record_count,
        list(distinct source_system order by source_system) as source_systems,
        list(record_key order by record_key) as source_record_keys
    from records
    group by 1
),

orders as (
    select
        customer_id,
        count(*) filter (where is_completed) as orders_count,
        sum(net_revenue) as revenue,
        min(ordered_at) filter (where is_completed) as first_purchase_at,
        max(ordered_at) filter (where is_completed) as last_purchase_at
    from {{ ref('fct_orders') }}
    where customer_id is not null
    group by 1
),

email_consent as (
    select customer_id, has_consent from {{ ref('consent_current') }} where channel = 'email'
),

final as (
    select
        sources.customer_id,
        best_name.surname,
        best_name.given_name,
        best_name.patronymic,
        best_name.birth_date,
        best_email.email,
        best_phone.phone,
        sources.source_record_count,
        sources.source_systems,
        sources.source_record_keys,
        coalesce(orders.orders_count, 0) as orders_count,
        coalesce(orders.revenue, 0) as revenue,
        case when orders.orders_count > 0 then orders.revenue / orders.orders_count end as average_order_value,
        orders.first_purchase_at,
        orders.last_purchase_at,
        -- Hashed the way Yandex Audience, VK Ads and Meta expect: SHA-256 of the lower-case e-mail
        -- and of the phone as digits with the country code, no '+'.
        sha256(lower(best_email.email)) as email_sha256,
        sha256(ltrim(best_phone.phone, '+')) as phone_sha256,
        best_email.email is not null as has_email,
        best_phone.phone is not null as has_phone,
        coalesce(email_consent.has_consent, false) as has_email_consent,
        rfm.rfm_segment
    from sources
    left join best_name using (customer_id)
    left join best_email using (customer_id)
    left join best_phone using (customer_id)
    left join orders using (customer_id)
    left join email_consent using (customer_id)
    left join {{ ref('rfm') }} rfm using (customer_id)
)

select * from final
