-- Grain: one row per pair of records a person should look at, with why:
--   - `borderline score`: the probabilistic pass found the pair likely (from identity_review_floor)
--     but did not join it: below identity_match_threshold, or on one agreeing field only;
--   - `repaired e-mail, names unconfirmed`: a mistyped address repaired to another record's, with
--     no name to confirm it (not joined);
--   - `same system, different ids`: joined records that one system keeps as two customers
--     (Mindbox's "never merge different ids" rule). We flag rather than block: CRMs and 1C are full
--     of duplicates a manager created twice, and blocking them would leave most of them split; the
--     guards on shared contacts already stop the false merges such pairs usually are.
-- Short by design: pairs with a score below identity_review_floor are not listed.
with scored as (
    select * from {{ ref('int_identity_pairs_scored') }}
),

shared as (
    select * from {{ ref('int_identity_pairs_shared') }}
),

links as (
    select * from {{ ref('int_identity_links') }}
),

assigned as (
    select record_key, customer_id from {{ ref('int_customer_ids_assigned') }}
),

borderline as (
    select record_key_a, record_key_b, 'borderline score' as reason, match_probability as score
    from scored
    anti join links using (record_key_a, record_key_b)
    anti join (select * from shared where is_shared_contact) as conflicts using (record_key_a, record_key_b)
    -- Below the threshold, or above it on one agreeing field only (int_identity_links).
    where match_probability >= {{ var('identity_review_floor') }}
),

repaired as (
    select record_key_a, record_key_b, 'repaired e-mail, names unconfirmed' as reason, null::double as score
    from shared
    where not is_linked and list_contains(evidence, 'repaired_email: repaired, names unconfirmed')
),

same_system as (
    select record_key_a, record_key_b, 'same system, different ids' as reason, score
    from links
    where same_system
),

unioned as (
    select * from borderline
    union all select * from repaired
    union all select * from same_system
),

final as (
    select
        unioned.record_key_a,
        unioned.record_key_b,
        a.customer_id as customer_id_a,
        b.customer_id as customer_id_b,
        unioned.reason,
        unioned.score
    from unioned
    join assigned as a on a.record_key = unioned.record_key_a
    join assigned as b on b.record_key = unioned.record_key_b
    -- Pairs already in one customer through other links are settled.
    where unioned.reason = 'same system, different ids' or a.customer_id <> b.customer_id
)

select * from final
