-- Grain: one row per pair of source records identity joined, with the rule that joined them
-- (a shared identifier, surname + given name + birth date, a repaired e-mail confirmed by the
-- name, or `probabilistic`), its score (1 for a rule; the Fellegi-Sunter match probability
-- otherwise) and the evidence compared: each field's comparison level and weight in bits. Values
-- themselves are not repeated here.
with links as (
    select * from {{ ref('int_identity_links') }}
),

assigned as (
    select record_key, customer_id from {{ ref('int_customer_ids_assigned') }}
),

final as (
    select
        links.record_key_a,
        links.record_key_b,
        assigned.customer_id,
        links.rule,
        links.score,
        links.match_weight,
        links.name_level,
        links.birth_date_level,
        links.email_name_level,
        links.email_year_level,
        links.email_level,
        links.phone_level,
        links.city_level,
        array_to_string(links.identifier_evidence, '; ') as identifier_evidence,
        links.same_system
    from links
    join assigned on assigned.record_key = links.record_key_a
)

select * from final
