-- One row per phone number a spreadsheet member carries: the phone column (people write two
-- numbers in one cell, separated by a comma, semicolon or slash) and the second phone column.
with members as (
    select member_record_id, phone_raw, phone2_raw from {{ ref('stg_spreadsheets__members') }}
),

cells as (
    select member_record_id, 1 as column_position, phone_raw as cell from members
    union all
    select member_record_id, 2, phone2_raw from members
),

split as (
    select
        member_record_id,
        column_position,
        unnest(string_split_regex(cell, '\s*[,;/]\s*')) as phone_raw
    from cells
    where nullif(trim(cell), '') is not null
),

numbered as (
    select
        member_record_id,
        row_number() over (partition by member_record_id order by column_position) as phone_position,
        trim(phone_raw) as phone_raw
    from split
    where trim(phone_raw) <> ''
),

final as (
    select
        member_record_id,
        phone_position,
        phone_raw,
        phone_e164(phone_raw) as phone,
        phone_issue(phone_raw) as phone_issue,
        phone_kind(phone_raw) as phone_kind
    from numbered
)

select * from final
