-- One row per phone number a spreadsheet member carries, as written: the phone column (people
-- write two numbers in one cell, separated by a comma, semicolon or slash) and the second phone
-- column, in that order. Normalised once, centrally, in intermediate.
with members as (
    select member_record_id, source_system, source_record_id, phone_raw, phone2_raw
    from {{ ref('stg_spreadsheets__members') }}
),

cells as (
    select member_record_id, source_system, source_record_id, 1 as column_position, phone_raw as cell from members
    union all
    select member_record_id, source_system, source_record_id, 2, phone2_raw from members
),

split as (
    select
        member_record_id,
        source_system,
        source_record_id,
        column_position,
        generate_subscripts(string_split_regex(cell, '\s*[,;/]\s*'), 1) as cell_position,
        unnest(string_split_regex(cell, '\s*[,;/]\s*')) as phone_raw
    from cells
    where cell is not null
),

final as (
    select
        member_record_id,
        source_system,
        source_record_id,
        cast(row_number() over (
            partition by member_record_id order by column_position, cell_position
        ) as integer) as phone_position,
        trim(phone_raw) as phone_raw
    from split
    where trim(phone_raw) <> ''
)

select * from final
