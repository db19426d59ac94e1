-- Shape person_records: one row per person-like spreadsheet row. Each mapping entry is a source
-- system of its own (source_system = the entry's name; source_record_id = the row's id within it,
-- with the sheet for per-sheet ids). Names as the file gives them: separate columns as given, a
-- one-field name as full_name (its order is decided centrally). A row with only an id is still a
-- record: orders can name it.
with members as (
    select * from {{ ref('stg_spreadsheets__members') }}
),

final as (
    select
        source_system,
        source_record_id,
        full_name,
        surname,
        given_name,
        patronymic,
        birth_date,
        cast(null as varchar) as city,
        registered_at as record_created_at,
        source_position as evidence
    from members
)

select * from final
