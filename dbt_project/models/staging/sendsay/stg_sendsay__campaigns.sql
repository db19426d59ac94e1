-- One row per Sendsay issue (campaign); also the `campaigns` cross-system shape (source_system,
-- campaign_id, campaign_name, sent_at).
with source as (
    select * from {{ raw_table('sendsay', 'issues') }}
),

renamed as (
    select
        'sendsay' as source_system,
        cast(issue_id as varchar) as campaign_id,
        issue_name as campaign_name,
        issue_subject as subject,
        {{ local_to_utc('issue_dt', 'sendsay') }} as sent_at,
        issue_format as issue_format,
        issue_group_gid as group_id,
        issue_members as recipients,
        issue_deliv_ok as delivered,
        issue_deliv_bad as not_delivered,
        issue_u_readed as unique_reads,
        issue_u_clicked as unique_clicks,
        issue_unsubed as unsubscribes,
        _dlt_load_id as load_id
    from source
)

select * from renamed
