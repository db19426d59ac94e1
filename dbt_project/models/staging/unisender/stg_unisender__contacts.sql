-- One row per Unisender contact. A contact IS an e-mail address: the export is keyed by it (the
-- connector trims and lower-cases it), so the address is also the record's id.
with source as (
    select * from {{ raw_table('unisender', 'contacts') }}
),

renamed as (
    select
        source.email as contact_record_id,
        nullif(trim(source.email), '') as email_raw,
        {{ normalize_email('source.email') }} as email_normalized,
        {{ email_issue('source.email') }} as email_issue,
        email_status,
        -- 'YYYY-MM-DD hh:mm:ss' text in UTC (every Unisender time is UTC), so no zone is applied.
        try_cast(email_add_time as timestamp) as added_at,
        email_list_ids,
        email_unsubscribed_list_ids,
        -- Unisender's export has no unsubscribe time: the opt-out is dated by the load that saw it
        -- (a dlt load id is the Unix time the load started; read as decimal, not float, so exact).
        make_timestamp(cast(cast(source._dlt_load_id as decimal(20, 6)) * 1000000 as bigint)) as observed_at,
        source._dlt_load_id as load_id
    from source
),

final as (
    select
        contact_record_id,
        email_raw,
        case when email_issue is null then email_normalized end as email,
        email_issue,
        email_status,
        email_status = 'unsubscribed' as is_unsubscribed,
        added_at,
        email_list_ids,
        email_unsubscribed_list_ids,
        observed_at,
        load_id
    from renamed
)

select * from final
