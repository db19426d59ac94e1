{{ config(materialized='table') }}
-- Grain: one row per pair of records identity joins, with the rule that joined them and its score.
-- Deterministic links (int_identity_pairs_shared) score 1; a pair the identifiers cannot decide is
-- joined when its Fellegi-Sunter match probability (int_identity_pairs_scored) reaches
-- identity_match_threshold. A pair whose shared contact conflicts on the names or birth dates is
-- never joined by a score, nor is any pair whose names or birth dates conflict (the same guard as
-- for shared contacts): a conflict is the stronger evidence. A score also needs two fields that agree
-- (or a whole three-part name).
with shared as (
    select * from {{ ref('int_identity_pairs_shared') }}
),

scored as (
    select * from {{ ref('int_identity_pairs_scored') }}
),

deterministic as (
    select record_key_a, record_key_b, rule, 1.0::double as score
    from shared
    where is_linked
),

records as (
    select * from {{ ref('int_identity_records') }}
),

probabilistic as (
    select scored.record_key_a, scored.record_key_b, 'probabilistic' as rule, scored.match_probability as score
    from scored
    join records as ra on ra.record_key = scored.record_key_a
    join records as rb on rb.record_key = scored.record_key_b
    anti join deterministic using (record_key_a, record_key_b)
    anti join (select * from shared where is_shared_contact) as conflicts using (record_key_a, record_key_b)
    where scored.match_probability >= {{ var('identity_match_threshold') }}
      and not {{ identity_records_conflict('ra', 'rb') }}
      -- Two independent fields must agree, or a whole three-part name (surname, given name and
      -- patronymic) whose parts are rare enough for the score to pass on its own: a two-part name
      -- or an address that spells a name is what namesakes and other people's addresses also have.
      and (scored.name = 'full'
           or (case when scored.name in ('full', 'surname+given', 'fuzzy or swapped') then 1 else 0 end
               + case when scored.dob in ('same', 'near') then 1 else 0 end
               + case when scored.email_name like 'surname%' or scored.email_name = 'rare surname' then 1 else 0 end
               + case when scored.email_year in ('birth year', 'its last two digits') then 1 else 0 end
               + case when scored.email in ('same', 'same after repair') then 1 else 0 end
               + case when scored.phone in ('same', 'one digit apart') then 1 else 0 end) >= 2)
),

unioned as (
    select * from deterministic
    union all
    select * from probabilistic
),

final as (
    select
        unioned.*,
        scored.name as name_level,
        scored.dob as birth_date_level,
        scored.email_name as email_name_level,
        scored.email_year as email_year_level,
        scored.email as email_level,
        scored.phone as phone_level,
        scored.city as city_level,
        scored.match_weight,
        shared.evidence as identifier_evidence,
        split_part(record_key_a, ':', 1) = split_part(record_key_b, ':', 1) as same_system
    from unioned
    left join scored using (record_key_a, record_key_b)
    left join shared using (record_key_a, record_key_b)
)

select * from final
