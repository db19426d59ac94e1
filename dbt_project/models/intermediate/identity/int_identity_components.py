"""Connected components over the pairs identity links (int_identity_links).

Label propagation in DuckDB SQL: every record starts labelled with its own key; each round, a link
takes the smallest label of its two records and every record takes the smallest label among its
links. It stops when no label changes (rounds ~ the longest chain, a handful in practice).
Set-based, so it scales with DuckDB rather than with Python (see PITFALLS: ~3 s for 1.9 M records
against ~95 s for networkx).

The rounds work on integers: each record key is numbered in key order (so the smallest number is
the smallest key, and a component's label is its smallest record key, as if the keys themselves
were compared), and each link by its position. Comparing and hashing strings every round cost
most of the time.

Only the components a change touches are propagated again. The links the last build's components
came from are kept (`ops.identity_component_links`, with a digest of the table they produced); a
component none of whose records gained or lost a link, appeared or vanished keeps its records and
label, since nothing that decides them moved. The rest (the components of every record at either
end of a changed link, and new records) are propagated over their links alone. The result is the
one a propagation over everything gives: a link from a kept component to a touched record would be
a changed link, which touches the kept component too. When the kept links do not match the table
(a build that stopped in between, a table edited by hand, the first build), everything is
propagated.
"""

LINKS_TABLE = "ops.identity_component_links"

# What identifies a components table: its rows and a sum of their hashes (order-free).
DIGEST = "select count(*) as records, coalesce(sum(hash(record_key, cluster_key)::hugeint), 0) as digest from {table}"


def _propagate(session, records: str, links: str) -> None:
    """Components of the records in `records` (record_key) over `links` (record_key_a,
    record_key_b), into temp table _cc_found (record_key, cluster_key)."""
    session.execute(f"""
        create or replace temp table _cc_ids as
        select record_key, row_number() over (order by record_key) as rid
        from (select distinct record_key from {records})
    """)
    # Each linked pair is a node both its records touch (a pair naming a record that is not in the
    # records joins nothing: the record it names has no label to pass on).
    session.execute(f"""
        create or replace temp table _cc_edges as
        with pairs as (
            select row_number() over () as node, a.rid as rid_a, b.rid as rid_b
            from {links} p
            join _cc_ids a on a.record_key = p.record_key_a
            join _cc_ids b on b.record_key = p.record_key_b
        )
        select node, rid_a as rid from pairs
        union all
        select node, rid_b from pairs
    """)
    session.execute("create or replace temp table _cc_labels as select rid, rid as label from _cc_ids")
    for _ in range(100):
        session.execute(
            """
            create or replace temp table _cc_next as
            with node_label as (
                select l.node, min(lb.label) as label
                from _cc_edges l join _cc_labels lb using (rid)
                group by l.node
            ),
            record_best as (
                select l.rid, min(n.label) as label
                from _cc_edges l join node_label n using (node)
                group by l.rid
            )
            select lb.rid, least(lb.label, coalesce(rb.label, lb.label)) as label
            from _cc_labels lb left join record_best rb using (rid)
            """
        )
        changed = session.execute(
            "select count(*) from _cc_next n join _cc_labels o using (rid) where n.label <> o.label"
        ).fetchone()[0]
        session.execute("create or replace temp table _cc_labels as select * from _cc_next")
        if changed == 0:
            break
    else:
        raise RuntimeError("identity components did not converge in 100 rounds")
    session.execute("""
        create or replace temp table _cc_found as
        select i.record_key, cluster.record_key as cluster_key
        from _cc_ids i
        join _cc_labels lb using (rid)
        join _cc_ids cluster on cluster.rid = lb.label
    """)
    for table in ("_cc_ids", "_cc_edges", "_cc_labels", "_cc_next"):
        session.execute(f"drop table if exists {table}")


def _kept_basis_matches(session, this) -> bool:
    """Whether the kept links are the ones the components table now in the warehouse came from."""
    exists = session.execute(
        "select count(*) from information_schema.tables where (table_schema, table_name) in "
        "(('ops', 'identity_component_links'), ($schema, $name))",
        {"schema": this.schema, "name": this.identifier}).fetchone()[0]
    if exists < 2:
        return False
    kept = session.execute(f"select any_value(records), any_value(digest) from {LINKS_TABLE}").fetchone()
    return kept[0] is not None and tuple(kept) == session.execute(DIGEST.format(table=this)).fetchone()


def model(dbt, session):
    dbt.config(materialized="table")
    # Off only to check that keeping components changes nothing (a test builds both ways).
    keep = dbt.config.get("keep_unchanged", True)
    keep = str(keep).lower() not in ("false", "0", "no")
    dbt.ref("int_source_records_unioned").select("record_key").create_view("_cc_records")
    dbt.ref("int_identity_links").select("record_key_a, record_key_b").create_view("_cc_pairs")
    this = dbt.this

    if keep and _kept_basis_matches(session, this):
        # Seeds: both ends of every link gained or lost, records that appeared or vanished, and the
        # other end of any link of a new record (a kept link may have named it before it was a
        # record, when it joined nothing). Their components, as last built, are propagated again.
        session.execute(f"""
            create or replace temp table _cc_touched_components as
            with kept_links as (
                select record_key_a, record_key_b from {LINKS_TABLE} where record_key_a is not null
            ),
            changed as (
                (select record_key_a, record_key_b from _cc_pairs except select * from kept_links)
                union all
                (select * from kept_links except select record_key_a, record_key_b from _cc_pairs)
            ),
            now as (select distinct record_key from _cc_records),
            appeared as (select record_key from now except select record_key from {this}),
            seeds as (
                select record_key_a as record_key from changed
                union select record_key_b from changed
                union select record_key from appeared
                union (select record_key from {this} except select record_key from now)
                union select p.record_key_b from _cc_pairs p join appeared a on a.record_key = p.record_key_a
                union select p.record_key_a from _cc_pairs p join appeared a on a.record_key = p.record_key_b
            )
            select distinct previous.cluster_key from {this} previous join seeds using (record_key)
        """)
        session.execute(f"""
            create or replace temp view _cc_touched as
            select record_key from {this} semi join _cc_touched_components using (cluster_key)
            union
            (select record_key from _cc_records except select record_key from {this})
        """)
        _propagate(session, "(select record_key from _cc_records semi join _cc_touched using (record_key))", "_cc_pairs")
        session.execute(f"""
            create or replace temp table _cc_result as
            select previous.record_key, previous.cluster_key
            from {this} previous
            anti join _cc_touched_components using (cluster_key)
            semi join _cc_records using (record_key)
            union all
            select record_key, cluster_key from _cc_found
        """)
        result = "_cc_result"
    else:
        _propagate(session, "_cc_records", "_cc_pairs")
        result = "_cc_found"

    if keep:
        records, digest = session.execute(DIGEST.format(table=result)).fetchone()
        session.execute("create schema if not exists ops")
        session.execute(f"""
            create or replace table {LINKS_TABLE} as
            select $records::bigint as records, $digest::hugeint as digest, record_key_a, record_key_b
            from (select distinct record_key_a, record_key_b from _cc_pairs)
            union all
            -- The digest kept even when there is no link at all.
            select $records, $digest, null, null where not exists (select 1 from _cc_pairs)
        """, {"records": records, "digest": digest})
    # Every source record once: kept rows are current records', the rest were just propagated.
    return session.sql(f"select record_key, cluster_key from {result}")
