-- One row per entry of a contact's PHONE multi-field, as typed (parsed to E.164 centrally), with
-- the type the manager chose. VALUE_TYPE WORK is Bitrix24's default, so it often labels a personal
-- mobile; a WORK landline is the employer's switchboard, which intermediate decides once the
-- number is parsed.
with contacts as (
    select cast(id as varchar) as contact_record_id, phone
    from {{ raw_table('bitrix24', 'contacts') }}
),

entries as (
    {{ multifield_values(
        'contacts', 'contact_record_id', json_entries('phone'),
        value="entry->>'$.VALUE'",
        usage="entry->>'$.VALUE_TYPE'",
        extra={'phone_entry_id': "entry->>'$.ID'"},
    ) }}
),

final as (
    select
        contact_record_id,
        value_position as phone_position,
        phone_entry_id,
        upper(value_usage) as value_type,
        value_raw as phone_raw
    from entries
)

select * from final
