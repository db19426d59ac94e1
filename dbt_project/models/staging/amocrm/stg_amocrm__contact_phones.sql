-- One row per phone an amoCRM contact carries (the PHONE multitext field, values as typed; parsed
-- to E.164 centrally). `enum_code` is what the API documents; an older recording has `enum`, so
-- both are read.
with contacts as (
    select contact_record_id, custom_fields_values from {{ ref('stg_amocrm__contacts') }}
),

phone_values as (
    {{ multifield_values(
        'contacts', 'contact_record_id',
        amocrm_field_entries('custom_fields_values', 'PHONE'),
        value="entry->>'$.value'",
        usage="coalesce(entry->>'$.enum_code', entry->>'$.enum')",
    ) }}
),

final as (
    select
        contact_record_id,
        value_position as phone_position,
        value_raw as phone_raw,
        upper(value_usage) as phone_label
    from phone_values
)

select * from final
