-- The person_records shape: one row per individual customer. Deleted customers stay (their consent
-- and identity history must survive); corporate customers are company accounts, not people, and
-- their contact persons are individual customers already here.
with customers as (
    select * from {{ ref('stg_retailcrm__customers') }}
),

names as (
    select
        *,
        -- A manager sometimes types the whole name into firstName and leaves lastName empty: then
        -- firstName holds surname and given name in an unknown order.
        coalesce(last_name is null and contains(first_name, ' '), false) as is_glued_name
    from customers
),

final as (
    select
        'retailcrm' as source_system,
        customer_record_id as source_record_id,
        -- The glued name is one field in an unknown order: parsed centrally, never re-split here. A
        -- patronymic typed separately goes with it (the parser recognises a patronymic wherever it
        -- stands, and the old split kept it), unless firstName already holds it.
        case when is_glued_name then
            case when patronymic is null or contains(lower(first_name), lower(patronymic)) then first_name
                 else first_name || ' ' || patronymic end
        end as full_name,
        case when not is_glued_name then last_name end as surname,
        case when not is_glued_name then first_name end as given_name,
        case when not is_glued_name then patronymic end as patronymic,
        birth_date,
        city,
        created_at as record_created_at,
        '/api/v5/customers/' || customer_record_id as evidence
    from names
)

select * from final
