-- Grain: one row per customer (a connected cluster of source records).
-- Survivorship (dbt_project/DECISIONS.md): for name, birth date, e-mail and phone the most
-- trusted source wins (its rank in the business configuration, var cdp_source_ranks: by default
-- the main CRM, then 1C and the other CRMs, then each spreadsheet mapping entry, then mailing
-- tools), and within a source the most recently created record. Identifiers shared by many
-- records never survive. Records known only as an order's buyer carry no name of their own.
with identity as (
    select * from {{ ref('customer_identity_map') }}
),

ranks as (
    {%- set ranks = var('cdp_source_ranks', {}) %}
    {%- if ranks %}
    select * from (values {% for name, rank in ranks.items() | sort %}('{{ name }}', {{ rank | int }}){{ ", " if not loop.last }}{% endfor %}) as t(source_system, source_rank)
    {%- else %}
    select cast(null as varchar) as source_system, cast(null as integer) as source_rank where false
    {%- endif %}
),

-- Not materialised: each reader joins again what it needs (a materialised CTE wrote 2.6 M wide
-- rows at 1 M people: CPU time for this model 34 s against 22 s, on two threads).
records as not materialized (
    select r.record_key, r.source_system, r.record_created_at, r.surname, r.given_name, r.patronymic, r.birth_date,
           i.customer_id, coalesce(ranks.source_rank, 99) as source_rank
    from {{ ref('int_source_records_unioned') }} r
    join identity i on i.record_key = r.record_key
    left join ranks on ranks.source_system = r.source_system
),

-- One row per customer each (macros/sort_keys.sql says why arg_min and not distinct on).
best_name as (
    select customer_id, unnest(best)
    from (
        select customer_id,
               arg_min({'surname': surname, 'given_name': given_name, 'patronymic': patronymic, 'birth_date': birth_date},
                       {'rank': source_rank, 'at': {{ latest_first('record_created_at') }}, 'key': record_key}) as best
        from records
        where given_name is not null or surname is not null
        group by 1
    )
),

contacts as not materialized (
    select
        records.customer_id, ids.identifier_type, ids.identifier_value, ids.identifier_position,
        records.source_rank, records.record_created_at, records.record_key
    from {{ ref('int_identifiers_unioned') }} ids
    join records using (record_key)
    anti join {{ ref('int_identifiers_overshared') }} overshared using (identifier_type, identifier_value)
    where ids.identifier_type in ('email', 'phone')
),

best_email as (
    select customer_id,
           arg_min(identifier_value, {'rank': source_rank, 'at': {{ latest_first('record_created_at') }}, 'key': record_key,
                                      'position': identifier_position, 'value': identifier_value}) as email
    from contacts
    where identifier_type = 'email'
    group by 1
),

best_phone as (
    select customer_id,
           arg_min(identifier_value, {'rank': source_rank, 'at': {{ latest_first('record_created_at') }}, 'key': record_key,
                                      'position': identifier_position, 'value': identifier_value}) as phone
    from contacts
    where identifier_type = 'phone'
    group by 1
),

sources as (
    select
        customer_id,
        count(*) as source_record_count,
        -- Sorted after aggregating: an ordered aggregate sorts within every group.
        list_sort(list_distinct(list(source_system))) as source_systems,
        list_sort(list(record_key)) as source_record_keys
    from records
    group by 1
),

orders as (
    select
        customer_id,
        count(*) filter (where is_completed) as orders_count,
        sum(net_revenue) as revenue,
        min(ordered_date) filter (where is_completed) as first_purchase_date,
        max(ordered_date) filter (where is_completed) as last_purchase_date
    from {{ ref('fct_orders') }}
    where customer_id is not null
    group by 1
),

consent as (
    select
        customer_id,
        bool_or(has_consent) filter (where channel = 'email') as has_email_consent,
        bool_or(has_consent) filter (where channel = 'sms') as has_sms_consent,
        bool_or(has_consent) filter (where channel = 'ads') as has_ads_consent,
        list_sort(list(channel) filter (where has_consent)) as consented_channels
    from {{ ref('consent_customers') }}
    group by 1
),

engagement as (
    select customer_id, campaigns_delivered, campaigns_opened, campaigns_clicked, open_rate, ctr, last_opened_at
    from {{ ref('customer_engagement') }}
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
        coalesce(orders.revenue, cast(0 as decimal(18, 2))) as revenue,
        case when orders.orders_count > 0 then cast(round(orders.revenue / orders.orders_count, 2) as decimal(18, 2)) end as average_order_value,
        orders.first_purchase_date,
        orders.last_purchase_date,
        -- Hashed the way Yandex Audience, VK Ads and Meta expect: SHA-256 of the lower-case e-mail
        -- and of the phone as digits with the country code, no '+'.
        sha256(lower(best_email.email)) as email_sha256,
        sha256(ltrim(best_phone.phone, '+')) as phone_sha256,
        coalesce(orders.orders_count, 0) > 1 as is_repeat_buyer,
        best_email.email is not null as has_email,
        best_phone.phone is not null as has_phone,
        coalesce(consent.has_email_consent, false) as has_email_consent,
        coalesce(consent.has_sms_consent, false) as has_sms_consent,
        coalesce(consent.has_ads_consent, false) as has_ads_consent,
        coalesce(consent.consented_channels, []) as consented_channels,
        coalesce(engagement.campaigns_delivered, 0) as campaigns_delivered,
        coalesce(engagement.campaigns_opened, 0) as campaigns_opened,
        coalesce(engagement.campaigns_clicked, 0) as campaigns_clicked,
        engagement.open_rate,
        engagement.ctr,
        engagement.last_opened_at,
        rfm.rfm_segment,
        value.expected_purchases as predicted_purchases,
        value.predicted_revenue,
        value.probability_alive,
        value.value_tier
    from sources
    left join best_name using (customer_id)
    left join best_email using (customer_id)
    left join best_phone using (customer_id)
    left join orders using (customer_id)
    left join consent using (customer_id)
    left join engagement using (customer_id)
    left join {{ ref('rfm') }} rfm using (customer_id)
    left join {{ ref('customer_value') }} value using (customer_id)
)

select * from final
