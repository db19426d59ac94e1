-- One row per issue and member (stat.uni join of deliv/read/click/unsub). deliv.status codes as the
-- emulator models them (Sendsay's own code list is unconfirmed): 0 delivered, 1 temporary failure,
-- 2 permanent failure (the address does not exist).
with source as (
    select * from {{ raw_table('sendsay', 'issue_member_stats') }}
),

renamed as (
    select
        cast(issue_id as varchar) as campaign_id,
        cast(member_id as varchar) as member_record_id,
        nullif(trim(email), '') as email_raw,
        {{ normalize_email('email') }} as email,
        cast(deliv_status as integer) as delivery_status,
        case cast(deliv_status as integer) when 0 then 'delivered' when 1 then 'soft_bounce' when 2 then 'hard_bounce'
             else 'unknown' end as delivery_result,
        {{ local_to_utc('deliv_dt', 'sendsay') }} as delivered_at,
        {{ local_to_utc('first_read_dt', 'sendsay') }} as first_read_at,
        coalesce(reads, 0) as reads,
        {{ local_to_utc('first_click_dt', 'sendsay') }} as first_click_at,
        coalesce(clicks, 0) as clicks,
        {{ local_to_utc('unsub_dt', 'sendsay') }} as unsubscribed_at,
        _dlt_load_id as load_id
    from source
)

select * from renamed
