-- One row per Sendsay member. Consent as Sendsay holds it: membership of the e-mail list and of the
-- SMS list (`-group`), and the stop-list "unsubscribed from all" (`member.haslock`, with its date),
-- which overrides both. The shop's list ids are vars (sendsay_email_group, sendsay_sms_group).
-- Contacts and names are kept as the member's anketa holds them; phones, e-mails and one-field
-- names are normalised centrally, in intermediate.
{% set email_group = var('sendsay_email_group', 'pl11342') %}
{% set sms_group = var('sendsay_sms_group', 'pl11343') %}

with source as (
    select * from {{ raw_table('sendsay', 'members') }}
),

renamed as (
    select
        cast(member_id as varchar) as member_record_id,
        member_addr_type as addr_type,
        -- An address of another type (msisdn, push, ...) is also called "email" in Sendsay's API.
        nullif(trim(case when member_addr_type = 'email' then member_email end), '') as email_raw,
        {{ normalize_email("case when member_addr_type = 'email' then member_email end") }} as email_normalized,
        {{ email_issue("case when member_addr_type = 'email' then member_email end") }} as email_issue,
        nullif(trim(base_first_name), '') as first_name_raw,
        nullif(trim(base_last_name), '') as last_name_raw,
        nullif(trim(custom_phone), '') as phone_raw,
        {{ local_to_utc('member_createdate', 'sendsay') }} as created_at,
        coalesce(member_haslock, 0) = 1 as is_on_stop_list,
        {{ local_to_utc('member_lockdate', 'sendsay') }} as stop_listed_at,
        json_extract_string(_group, '$."{{ email_group }}"') = '1' as in_email_group,
        json_extract_string(_group, '$."{{ sms_group }}"') = '1' as in_sms_group,
        {{ local_to_utc('custom_sms_consent_dt', 'sendsay') }} as sms_consent_at,
        _dlt_load_id as load_id
    from source
),

final as (
    select
        member_record_id,
        addr_type,
        email_raw,
        case when email_issue is null then email_normalized end as email,
        email_issue,
        phone_raw,
        first_name_raw,
        last_name_raw,
        created_at,
        coalesce(in_email_group, false) and not is_on_stop_list as email_subscribed,
        -- Joined the list with the sign-up form: the member's creation is the grant's date.
        case when coalesce(in_email_group, false) and not is_on_stop_list then created_at end as email_subscribed_at,
        case when is_on_stop_list then coalesce(stop_listed_at, created_at) end as email_unsubscribed_at,
        -- SMS consent needs a phone to be about (whether it is a valid number is decided centrally).
        coalesce(in_sms_group, false) and not is_on_stop_list and phone_raw is not null as sms_subscribed,
        case when coalesce(in_sms_group, false) and not is_on_stop_list and phone_raw is not null
             then coalesce(sms_consent_at, created_at) end as sms_subscribed_at,
        case when is_on_stop_list then coalesce(stop_listed_at, created_at) end as sms_unsubscribed_at,
        is_on_stop_list,
        load_id
    from renamed
)

select * from final
