"""The probabilistic pass: Fellegi-Sunter match weights for pairs the identifiers cannot decide.

Why: in real exports a third of duplicates share no identifier at all (a phone-only CRM record and
an e-mail-only mailing-list row of the same person, a changed phone, a nameless subscriber whose
address is `ivanova.a@...`). Each candidate pair is compared field by field into a few levels
(name, birth date, e-mail against the name, a birth year in the e-mail, e-mail, phone, city); the m and u probabilities of
each level are estimated from the data by expectation-maximisation over the counts of distinct
comparison patterns (a few thousand rows, however many pairs), so no weight is hand-set. An exact
name's u is the chance two different people share that very name, from how common its parts are
(term frequencies), so a rare full name weighs more than a common one and less as the data grows.
The match weight is the sum of log2(m/u); `identity_match_threshold` (chosen on labelled data, see
DECISIONS.md) decides a link, a band below it goes to identity_review.

Blocking keeps it near-linear: a pair is compared only if the records share a surname stem and a
given name, a name and a birth date, a contact, or an e-mail local part that spells the other's
surname; blocks larger than `identity_max_block` are skipped (a name too common to decide on).
All of it is DuckDB SQL; Python only runs the EM loop over the pattern counts.
"""

import math

FIELDS = ("name", "dob", "email_name", "email_year", "email", "phone", "city")
# Fields whose agreement is weighed by how common the agreeing value is (`<field>_tf_bits`).
TF_FIELDS = ("name",)

# What the levels mean, for identity_links' evidence.
COMPARISONS = """
with pairs as (select * from _fs_pairs),
a as (select * from _fs_records), b as (select * from _fs_records),
compared as (
select
    a.record_key as record_key_a, b.record_key as record_key_b,
    case
        when a.surname_key is null or b.surname_key is null or a.given_key is null or b.given_key is null then null
        when a.surname_key = b.surname_key and list_has_any(a.given_keys, b.given_keys)
             and a.patronymic_key = b.patronymic_key then 'full'
        when a.surname_key = b.surname_key and list_has_any(a.given_keys, b.given_keys) then 'surname+given'
        when (jaro_winkler_similarity(a.surname_key, b.surname_key) >= 0.9 and list_has_any(a.given_keys, b.given_keys))
             or (jaro_winkler_similarity(a.surname_key, b.given_key) >= 0.9
                 and jaro_winkler_similarity(b.surname_key, a.given_key) >= 0.9) then 'fuzzy or swapped'
        when a.surname_key = b.surname_key then 'surname only'
        when list_has_any(a.given_keys, b.given_keys) then 'given only'
        else 'different'
    end as name,
    -- How often two different people would agree on this name by chance, from how common its
    -- parts are (term frequencies, as Splink's tf adjustment, but per part: a surname seen only
    -- in this pair still has a well-estimated given name and patronymic).
    greatest(a.surname_share, b.surname_share) as surname_share,
    greatest(a.given_share, b.given_share) as given_share,
    greatest(a.given_patronymic_share, b.given_patronymic_share) as given_patronymic_share,
    case
        when a.birth_date is null or b.birth_date is null then null
        when a.birth_date = b.birth_date then 'same'
        when (year(a.birth_date) = year(b.birth_date) and day(a.birth_date) = month(b.birth_date) and month(a.birth_date) = day(b.birth_date))
             or (a.birth_date - b.birth_date) in (1, -1) or date_diff('year', a.birth_date, b.birth_date) in (1, -1)
             and month(a.birth_date) = month(b.birth_date) and day(a.birth_date) = day(b.birth_date) then 'near'
        else 'different'
    end as dob,
    case
        -- Only evidence when the names themselves cannot be compared (one record has no full name):
        -- otherwise it repeats the name comparison and would be counted twice.
        when a.has_full_name and b.has_full_name then null
        when (a.email_tokens is null or b.surname_key is null) and (b.email_tokens is null or a.surname_key is null) then null
        when (list_contains(a.email_tokens, b.surname_key) and list_has_any(a.email_tokens, b.given_keys))
          or (list_contains(b.email_tokens, a.surname_key) and list_has_any(b.email_tokens, a.given_keys)) then 'surname and given'
        when (list_contains(a.email_tokens, b.surname_key) and list_contains(a.email_initials, left(b.given_key, 1)))
          or (list_contains(b.email_tokens, a.surname_key) and list_contains(b.email_initials, left(a.given_key, 1))) then 'surname and initial'
        when (list_contains(a.email_tokens, b.surname_key) and b.surname_count <= 3)
          or (list_contains(b.email_tokens, a.surname_key) and a.surname_count <= 3) then 'rare surname'
        when list_contains(a.email_tokens, b.surname_key) or list_contains(b.email_tokens, a.surname_key) then 'surname'
        when list_has_any(a.email_tokens, b.given_keys) or list_has_any(b.email_tokens, a.given_keys) then 'given'
        else 'none'
    end as email_name,
    case
        -- An address holding a birth year (`dima1954@`, `olga_85@`) against the other record's
        -- birth date. Only evidence when the dates themselves cannot be compared (one record has
        -- none): otherwise it repeats the date comparison. Whole runs of digits only: the 1954 in
        -- `ivanov1954123@` is no year. A short id can still look like one (`ivanov57@`): EM
        -- weighs each level by how often it agrees among matches against random pairs.
        when a.birth_date is not null and b.birth_date is not null then null
        when (len(a.email_numbers) = 0 or b.birth_date is null) and (len(b.email_numbers) = 0 or a.birth_date is null) then null
        when list_contains(a.email_numbers, cast(year(b.birth_date) as varchar))
          or list_contains(b.email_numbers, cast(year(a.birth_date) as varchar)) then 'birth year'
        when list_contains(a.email_numbers, right(cast(year(b.birth_date) as varchar), 2))
          or list_contains(b.email_numbers, right(cast(year(a.birth_date) as varchar), 2)) then 'its last two digits'
        else 'other numbers'
    end as email_year,
    case
        when (a.emails is null and len(a.repaired_emails) = 0) or (b.emails is null and len(b.repaired_emails) = 0) then null
        when list_has_any(a.emails, b.emails) then 'same'
        when list_has_any(list_concat(coalesce(a.emails, []), a.repaired_emails),
                          list_concat(coalesce(b.emails, []), b.repaired_emails)) then 'same after repair'
        else 'different'
    end as email,
    case
        when a.phones is null or b.phones is null then null
        when list_has_any(a.phones, b.phones) then 'same'
        -- Two neighbouring digits swapped or one digit mistyped (both numbers valid): _fs_phone_near.
        when near.rid_a is not null then 'one digit apart'
        when list_has_any(a.phone_tails, b.phone_tails) then 'last 7 digits'
        else 'different'
    end as phone,
    case
        when a.city_key is null or b.city_key is null then null
        when a.city_key = b.city_key then 'same'
        else 'different'
    end as city
from pairs
join a on a.rid = pairs.rid_a
join b on b.rid = pairs.rid_b
left join _fs_phone_near as near on near.rid_a = pairs.rid_a and near.rid_b = pairs.rid_b
)
select * exclude (surname_share, given_share, given_patronymic_share),
       -- -log2 of the chance agreement on this name (the u of this pair's name, in bits).
       case name when 'full' then -log2(surname_share * given_patronymic_share)
                 when 'surname+given' then -log2(surname_share * given_share) end as name_tf_bits
from compared
"""


# The pairs of _fs_pairs with two numbers one digit apart (an edit distance of one: a mistyped or
# two swapped neighbouring digits), phone by phone and set-based: as a nested list lambda per pair
# it doubled the cost of the comparisons (9.9 s against 4.7 s for 1.9 M pairs at 100,000 people).
# Numbers of one length that share the operator code; a slip there is left to the other fields.
PHONE_NEAR = """
create or replace temp table _fs_phone_near as
with phones as (select rid, unnest(phones) as phone from _fs_records)
select distinct pairs.rid_a, pairs.rid_b
from _fs_pairs as pairs
join phones as pa on pa.rid = pairs.rid_a
join phones as pb on pb.rid = pairs.rid_b
where pa.phone <> pb.phone and length(pa.phone) = length(pb.phone) and left(pa.phone, 5) = left(pb.phone, 5)
  and damerau_levenshtein(pa.phone, pb.phone) = 1
"""


_LINKED_ON = {"phone": ("phone",), "email": ("email", "repaired_email"), "name": ("name_birthday",),
              "dob": ("name_birthday",), "email_name": ()}


def _em(patterns, u_random, lam, iterations=40):
    """m per field level by EM over (pattern, known, rule, count) rows, u fixed from random pairs (as
    Splink trains: u from random sampling, m by EM) and the share of matches among the candidates
    fixed from the deterministic links. Semi-supervised: pairs the identifiers already decided
    (linked: 1, a shared contact in conflict: 0) keep that posterior; left free, EM settles on the
    blocking's own structure (every same-surname pair a "match"). Null levels carry no information.
    A pattern's last elements are the chance agreement in whole bits of the fields in TF_FIELDS
    (exact name levels): their u is that, not the level's share among random pairs."""
    levels = {f: sorted({p[i] for p, _, _, _ in patterns if p[i] is not None} | set(u_random.get(f, {}))) for i, f in enumerate(FIELDS)}
    strong = {"full", "surname+given", "surname and given, one to one", "surname and initial, one to one", "same after repair", "birth year",
              "same", "surname and given", "surname and initial", "near", "one digit apart"}
    m = {f: {lv: (0.6 if lv in strong else 0.1) for lv in levels[f]} for f in FIELDS}
    # A level never seen among random pairs is rarer than one in the sample.
    u = {f: {lv: max(u_random.get(f, {}).get(lv, 0.0), 1e-5) for lv in levels[f]} for f in FIELDS}
    tf_at = {FIELDS.index(f): len(FIELDS) + k for k, f in enumerate(TF_FIELDS)}
    for _ in range(iterations):
        mc = {f: {lv: 1e-6 for lv in levels[f]} for f in FIELDS}
        for pattern, known, rule, n in patterns:
            lm, lu = math.log(lam), math.log(1 - lam)
            for i, f in enumerate(FIELDS):
                lv = pattern[i]
                if lv is not None:
                    lm += math.log(m[f][lv])
                    tf_bits = pattern[tf_at[i]] if i in tf_at else None
                    lu += -tf_bits * math.log(2) if tf_bits is not None else math.log(u[f][lv])
            p = known if known is not None else 1.0 / (1.0 + math.exp(min(lu - lm, 700)))
            for i, f in enumerate(FIELDS):
                lv = pattern[i]
                # A field a pair was linked on says nothing about that field's m (phone m from pairs
                # linked by phone would be ~1).
                if lv is not None and rule not in _LINKED_ON.get(f, ()):
                    mc[f][lv] += p * n
        for f in FIELDS:
            sm = sum(mc[f].values())
            m[f] = {lv: (c + 1.0) / (sm + len(mc[f])) for lv, c in mc[f].items()}  # one pseudo-count per level
    return m, u, lam


def model(dbt, session):
    dbt.config(materialized="table")
    max_block = int(dbt.config.get("max_block") or 50)
    review_floor = float(dbt.config.get("review_floor") or 0.01)
    random_records = int(dbt.config.get("random_records") or 100_000)

    dbt.ref("int_identity_records").create_view("_fs_people")
    dbt.ref("int_identifiers_unioned").create_view("_fs_identifiers")
    dbt.ref("int_identifiers_overshared").create_view("_fs_overshared")
    dbt.ref("int_identity_pairs_shared").create_view("_fs_shared")
    dbt.ref("int_identifiers_raw").create_view("_fs_raw_identifiers")
    dbt.ref("int_email_addresses_parsed").create_view("_fs_emails_parsed")

    # Per record: name keys, how common the name is, contacts (overshared ones left out), and the
    # e-mail local parts cut into Latin tokens spelled like the name skeletons.
    from cdp.names import latin_skeleton_sql, latin_surname_stem_sql

    session.execute(f"""
        create or replace temp table _fs_records as
        with contacts as (
            -- The identifiers are one row per record and value already: two plain lists, and the
            -- tails and local parts cut from them (four filtered lists over the values with their
            -- cuts cost 6.2 s of this statement at 1 M people, these 3.1 s). The e-mails sorted,
            -- since _fs_spelled compares whole lists.
            select record_key, phones, list_distinct(list_transform(phones, lambda p: right(p, 7))) as phone_tails,
                   emails, list_distinct(list_transform(emails, lambda e: split_part(e, '@', 1))) as email_locals,
                   list_distinct(flatten(list_transform(email_locals, lambda l: regexp_extract_all(l, '[0-9]+')))) as email_numbers
            from (
                select i.record_key,
                       list(i.identifier_value) filter (where i.identifier_type = 'phone') as phones,
                       list_sort(list(i.identifier_value) filter (where i.identifier_type = 'email')) as emails
                from _fs_identifiers i anti join _fs_overshared o using (identifier_type, identifier_value)
                where i.identifier_type in ('phone', 'email')
                group by 1
            )
        ),
        repaired as (
            select raw.record_key, list(distinct parsed.email_repaired) as repaired_emails
            from _fs_raw_identifiers raw
            join _fs_emails_parsed parsed on parsed.email_raw = raw.identifier_raw
            where raw.identifier_type = 'email' and parsed.email_repaired is not null
            group by 1
        ),
        local_words as (
            -- Words depend on the local part alone: cut each distinct local part once.
            select distinct local, unnest(regexp_split_to_array(local, '[^a-z]+')) as word
            from (select distinct unnest(email_locals) as local from contacts)
        ),
        word_spellings as (
            -- Each distinct word spelled as the name keys are: the Latin skeleton and the surname
            -- stem of cdp/names.py, as SQL held to the same answers by a test (the rules written
            -- here apart drifted: `dmitriy` gave `dmitrii` against the key `dmitri`, `anna` never
            -- met `ana`).
            select word, token, {latin_surname_stem_sql('token')} as stem
            from (select word, {latin_skeleton_sql('word')} as token from (select distinct word from local_words where word <> ''))
        ),
        local_tokens as (
            select distinct w.local, s.token, s.stem
            from local_words w join word_spellings s using (word)
        ),
        local_lists as (
            -- Each distinct local part's tokens with their stems, once: most records have one
            -- local part, and a local part is on two or three records (one person in several
            -- systems).
            select local, email_initials, list_distinct(list_concat(email_tokens, email_stems)) as email_tokens
            from (
                select local, list(token) filter (where length(token) >= 3) as email_tokens,
                       list(stem) filter (where length(token) >= 3) as email_stems,
                       list(token) filter (where length(token) = 1) as email_initials
                from local_tokens
                group by 1
            )
        ),
        several_locals as (
            select c.record_key, l.email_initials, l.email_tokens
            from (select record_key, unnest(email_locals) as local from contacts where len(email_locals) > 1) c
            join local_lists l using (local)
        ),
        tokens_stemmed as (
            -- A record with one local part takes its lists; one with more, the union of its parts'.
            -- (Cut per record, this statement took 8.5 s at 1 M people; so, 7.3 s.)
            select c.record_key, l.email_initials, l.email_tokens
            from contacts c join local_lists l on l.local = c.email_locals[1]
            where len(c.email_locals) = 1
            union all
            select record_key, list(distinct token) filter (where is_initial) as email_initials,
                   list(distinct token) filter (where not is_initial) as email_tokens
            from (
                select record_key, false as is_initial, unnest(email_tokens) as token from several_locals
                union all
                select record_key, true, unnest(email_initials) from several_locals
            )
            group by 1
        ),
        surnames as (
            select surname_key, count(*) as surname_count from _fs_people group by 1
        ),
        -- Each name part's share among the records that have that part: the chance two different
        -- people agree on a name is the product of its parts' shares (given name and patronymic
        -- together, as they go with sex). Counted by groupings joined back, not windows (which
        -- sort every row per partition).
        named as (
            select record_key, surname_key, given_key, patronymic_key
            from _fs_people
            where surname_key is not null and given_key is not null
        ),
        shares as (
            select named.record_key,
                   s.n / totals.n as surname_share,
                   g.n / totals.n as given_share,
                   gp.n / totals.n_patronymic as given_patronymic_share
            from named
            cross join (select count(*) as n, count(patronymic_key) as n_patronymic from named) as totals
            join (select surname_key, count(*) as n from named group by 1) as s using (surname_key)
            join (select given_key, count(*) as n from named group by 1) as g using (given_key)
            join (select given_key, patronymic_key, count(*) as n from named group by 1, 2) as gp
              on gp.given_key = named.given_key and gp.patronymic_key is not distinct from named.patronymic_key
        ),
        -- Numbered apart from the wide rows: a window sorts every column it carries (3.9 s instead
        -- of 7.3 s for this statement at 1 M people).
        ids as (
            select record_key, row_number() over (order by record_key) as rid from _fs_people
        )
        select ids.rid,
               p.*, c.phones, c.phone_tails, c.emails, coalesce(r.repaired_emails, []::varchar[]) as repaired_emails, c.email_locals, coalesce(c.email_numbers, []::varchar[]) as email_numbers, t.email_tokens, t.email_initials,
               s.surname_count, f.surname_share, f.given_share, f.given_patronymic_share
        from _fs_people p
        join ids using (record_key)
        left join contacts c using (record_key)
        left join tokens_stemmed t using (record_key)
        left join repaired r using (record_key)
        left join shares f using (record_key)
        join surnames s on s.surname_key is not distinct from p.surname_key
    """)

    # Blocking: each rule a join on a key, blocks above max_block skipped. The e-mail rule pairs an
    # address's local-part tokens with another record's surname (one side each), never two
    # surnames with each other.
    # Block sizes by a grouping joined back, not a window over the blocks: the same rows, 2.8 s
    # instead of 19.4 s at 1 M people (12.8 M keys; a window partitions and sorts every key).
    session.execute(f"""
        create or replace temp table _fs_keys as
        with keyed as (
            select rid, 'sg:' || surname_key || '|' || unnest(given_keys) as block, 0 as side from _fs_records where surname_key is not null
            union all select rid, 'sw:' || least(surname_key, given_key) || '|' || greatest(surname_key, given_key), 0
                from _fs_records where has_full_name
            union all select rid, 'gd:' || unnest(given_keys) || '|' || birth_date, 0 from _fs_records where birth_date is not null
            union all select rid, 'sd:' || surname_key || '|' || birth_date, 0 from _fs_records where surname_key is not null and birth_date is not null
            union all select rid, 'pt:' || unnest(phone_tails), 0 from _fs_records
            union all select rid, 'el:' || unnest(email_locals), 0 from _fs_records
            union all select rid, 'es:' || unnest(email_tokens), 1 from _fs_records where surname_key is null
            union all select rid, 'es:' || surname_key, 2 from _fs_records where surname_key is not null
        ),
        usable as (
            -- Counted before distinct, as the window was (a record with two addresses of one local
            -- part counts twice in that block).
            select block from keyed group by block
            having count(*) filter (where side < 2) between 1 and {max_block}
               and count(*) filter (where side <> 1) between 1 and {max_block}
        )
        select distinct rid, block, side from keyed semi join usable using (block)
    """)
    session.execute("""
        create or replace temp table _fs_pairs as
        select distinct least(a.rid, b.rid) as rid_a, greatest(a.rid, b.rid) as rid_b
        from _fs_keys a join _fs_keys b
          on a.block = b.block and a.rid <> b.rid
         and ((a.side = 0 and b.side = 0) or (a.side = 1 and b.side = 2))
        union
        select a.rid, b.rid
        from _fs_shared s
        join _fs_records a on a.record_key = s.record_key_a
        join _fs_records b on b.record_key = s.record_key_b
    """)
    session.execute(PHONE_NEAR)
    session.execute(f"create or replace temp table _fs_compared as {COMPARISONS}")
    # An address spelling a name (its local part holds the surname and given name) is telling
    # only when it is one-to-one: the nameless record fits one named person, and that person is
    # fitted by one such address (the demo and real lists hold several `anton.bykov…` addresses of
    # different Антон Быковs).
    session.execute("""
        create or replace temp table _fs_spelled as
        select c.record_key_a, c.record_key_b,
               case when a.has_full_name then c.record_key_b else c.record_key_a end as nameless,
               case when a.has_full_name then a.person_key else b.person_key end as person_key
        from _fs_compared c
        join _fs_records a on a.record_key = c.record_key_a
        join _fs_records b on b.record_key = c.record_key_b
        where c.email_name in ('surname and given', 'surname and initial')
    """)
    session.execute("""
        update _fs_compared c set email_name = c.email_name || ', one to one'
        from (
            select s.record_key_a, s.record_key_b
            from _fs_spelled s
            join _fs_records n on n.record_key = s.nameless
            qualify count(distinct s.person_key) over (partition by s.nameless) = 1
                and count(distinct n.emails) over (partition by s.person_key) = 1
        ) u
        where c.record_key_a = u.record_key_a and c.record_key_b = u.record_key_b
    """)
    session.execute("update _fs_compared set email_name = 'surname' where email_name = 'surname and initial'")
    patterns = session.execute(f"""
        select {', '.join('c.' + f for f in FIELDS)}, {', '.join(f'round(c.{f}_tf_bits)' for f in TF_FIELDS)},
               case when s.is_linked then 1.0 when s.is_shared_contact then 0.0 end as known,
               case when s.is_linked then s.rule end as rule, count(*)
        from _fs_compared c left join _fs_shared s using (record_key_a, record_key_b)
        group by all
        order by all
    """).fetchall()
    patterns = [(tuple(row[:-3]), None if row[-3] is None else float(row[-3]), row[-2], int(row[-1])) for row in patterns]
    if not patterns:
        return session.sql("select * from _fs_compared, (select 0.0::double as match_weight, 0.0::double as match_probability) where false")

    # u: how often each level occurs between records that are almost surely different people,
    # from random pairs (each sampled record against the next few in a random order). The sample is
    # the records first in a hash order of their keys: the same records on every run (a reservoir
    # sample depends on the order the rows happen to be stored in, which parallel joins change).
    session.execute(f"""
        create or replace temp table _fs_pairs as
        with sample as (
            select rid, row_number() over (order by hash(record_key || 'u'), record_key) as i
            from _fs_records
            qualify i <= {random_records}
        )
        select least(a.rid, b.rid) as rid_a, greatest(a.rid, b.rid) as rid_b
        from sample a cross join range(1, 6) as step(k) join sample b on b.i = a.i + step.k
    """)
    session.execute(PHONE_NEAR)
    session.execute(f"create or replace temp table _fs_random as {COMPARISONS}")
    u_random = {}
    for f in FIELDS:
        rows = session.execute(f"select {f}, count(*) / sum(count(*)) over () from _fs_random where {f} is not null group by 1").fetchall()
        u_random[f] = {level: share for level, share in rows}
    # The prior is the chance that two records taken at random are one person (as in Splink), not
    # the share of matches among the candidates: a nameless `ivanov@` row is a candidate against
    # every Иванов, and only one of them can be it. Estimated from the pairs the identifiers link.
    records, linked = session.execute(
        "select (select count(*) from _fs_records), (select count(*) from _fs_shared where is_linked)"
    ).fetchone()
    lam = min(max(linked / max(records * (records - 1) / 2, 1), 1e-9), 0.5)
    m, u, lam = _em(patterns, u_random, lam)

    weights = [(f, lv, math.log2(m[f][lv] / u[f][lv]), m[f][lv], u[f][lv]) for f in FIELDS for lv in m[f]]
    session.execute("create or replace temp table _fs_weights (field varchar, level varchar, weight double, m double, u double)")
    session.executemany("insert into _fs_weights values (?, ?, ?, ?, ?)", weights)
    prior = math.log2(lam / (1 - lam))
    joins = "\n".join(
        f"left join _fs_weights w_{f} on w_{f}.field = '{f}' and w_{f}.level = c.{f}" for f in FIELDS
    )
    # An exact name's weight is its level's m against the chance agreement on that very name.
    field_weight = {f: f"coalesce(w_{f}.weight, 0)" for f in FIELDS}
    for f in TF_FIELDS:
        field_weight[f] = f"coalesce(log2(w_{f}.m) + c.{f}_tf_bits, w_{f}.weight, 0)"
    weight_cols = ", ".join(f"{field_weight[f]} as {f}_weight" for f in FIELDS)
    total = " + ".join(field_weight.values())
    # Each pair keeps its levels and each field's weight (log2 m/u), so a link can be explained.
    return session.sql(f"""
        with scored as (
            select c.* exclude ({', '.join(f + '_tf_bits' for f in TF_FIELDS)}), {weight_cols}, {prior} + {total} as match_weight
            from _fs_compared c
            {joins}
        )
        select *, 1.0 / (1.0 + pow(2.0, -match_weight)) as match_probability
        from scored
        where 1.0 / (1.0 + pow(2.0, -match_weight)) >= {review_floor}
    """)
