-- One row per entry of a contact's EMAIL multi-field: wholesale contacts often carry a private
-- and a corporate address.
with contacts as (
    select cast(id as varchar) as contact_record_id, email
    from {{ raw_table('bitrix24', 'contacts') }}
),

entries as (
    {{ multifield_values(
        'contacts', 'contact_record_id', json_entries('email'),
        value="entry->>'$.VALUE'",
        usage="entry->>'$.VALUE_TYPE'",
        extra={'email_entry_id': "entry->>'$.ID'"},
    ) }}
),

final as (
    select
        contact_record_id,
        value_position as email_position,
        email_entry_id,
        upper(value_usage) as value_type,
        value_raw as email_raw,
        case when {{ email_issue('value_raw') }} is null then {{ normalize_email('value_raw') }} end as email,
        {{ email_issue('value_raw') }} as email_issue
    from entries
)

select * from final
