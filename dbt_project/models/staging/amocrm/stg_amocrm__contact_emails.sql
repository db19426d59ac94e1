-- One row per e-mail an amoCRM contact carries (the EMAIL multitext field, values as typed).
with contacts as (
    select contact_record_id, custom_fields_values from {{ ref('stg_amocrm__contacts') }}
),

email_values as (
    {{ multifield_values(
        'contacts', 'contact_record_id',
        amocrm_field_entries('custom_fields_values', 'EMAIL'),
        value="entry->>'$.value'",
        usage="coalesce(entry->>'$.enum_code', entry->>'$.enum')",
    ) }}
),

final as (
    select
        contact_record_id,
        value_position as email_position,
        value_raw as email_raw,
        upper(value_usage) as email_label
    from email_values
)

select * from final
