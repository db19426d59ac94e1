-- Customers whose birthday falls within the next `birthday_window_days` days (29 February counts
-- as 28 February in other years).
with customers as (
    select * from {{ ref('customer_360') }} where birth_date is not null
),

as_of as (
    select {{ segment_as_of() }} as as_of_date
),

next_birthday as (
    select
        customers.*,
        case
            when customers.birth_date + to_years(date_diff('year', customers.birth_date, as_of.as_of_date)) >= as_of.as_of_date
                then customers.birth_date + to_years(date_diff('year', customers.birth_date, as_of.as_of_date))
            else customers.birth_date + to_years(date_diff('year', customers.birth_date, as_of.as_of_date) + 1)
        end as next_birthday_date,
        as_of.as_of_date
    from customers cross join as_of
),

final as (
    select customer_id, email, phone, given_name, cast(next_birthday_date as date) as next_birthday_date
    from next_birthday
    where next_birthday_date < as_of_date + to_days({{ var('birthday_window_days') }})
)

select * from final
