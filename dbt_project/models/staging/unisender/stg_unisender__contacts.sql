with source as (
    select * from {{ source('unisender', 'contacts') }}
),

renamed as (
    select
        source.email as contact_record_id,
        {{ normalize_email('source.email') }} as email_normalized,
        {{ email_issue('source.email') }} as email_issue,
        email_status,
        try_cast(email_add_time as timestamp) as added_at,
        email_list_ids,
        email_unsubscribed_list_ids,
        -- Unisender's export has no unsubscribe time: the opt-out is dated by the load that saw it.
        -- (a dlt load id is the Unix time the load started).
        timezone('UTC', to_timestamp(cast(source._dlt_load_id as double))) as observed_at,
        source._dlt_load_id as load_id
    from source
),

final as (
    select
        contact_record_id,
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
