-- One row per amoCRM lead (deal). Status ids 142 and 143 are amoCRM's fixed "won" and "lost" in
-- every pipeline; anything else is an open stage. The contact is the one marked is_main (or the
-- first linked one when none is marked).
with source as (
    select * from {{ raw_table('amocrm', 'leads') }}
),

linked_contacts as (
    select
        id,
        unnest({{ json_entries("_embedded->'$.contacts'") }}) as contact,
        generate_subscripts({{ json_entries("_embedded->'$.contacts'") }}, 1) as contact_position
    from source
),

main_contact as (
    select
        id,
        arg_min(
            contact->>'$.id',
            (case when cast(contact->>'$.is_main' as boolean) then 0 else 1 end) * 10000 + contact_position
        ) as contact_record_id,
        count(*) as contact_count
    from linked_contacts
    group by id
),

renamed as (
    select
        cast(source.id as varchar) as lead_id,
        main_contact.contact_record_id,
        coalesce(main_contact.contact_count, 0) as contact_count,
        source.name as lead_name,
        -- the budget (an integer in API v4); money stays decimal
        cast(source.price as decimal(18, 2)) as amount,
        cast(source.status_id as varchar) as status_id,
        cast(source.pipeline_id as varchar) as pipeline_id,
        case
            when source.status_id = 142 then 'won'
            when source.status_id = 143 then 'lost'
            else 'open'
        end as status,
        source.status_id = 142 as is_won,
        source.status_id = 143 as is_lost,
        coalesce(source.is_deleted, false) as is_deleted,
        cast(source.responsible_user_id as varchar) as responsible_user_id,
        epoch_ms(source.created_at * 1000) as created_at,
        epoch_ms(source.updated_at * 1000) as updated_at,
        epoch_ms(source.closed_at * 1000) as closed_at,
        source._dlt_load_id as load_id
    from source
    left join main_contact on main_contact.id = source.id
),

final as (
    select * from renamed
)

select * from final
