"""Stable customer ids: the identity components of this run, named with the ids people already have.

Why a Python model with files beside the warehouse: a `customer_id` is a promise to everyone who
stored it (synced audiences, analysts' notebooks, the CRM), so it is state to keep, not a value
to derive. Deriving it from the cluster (as a hash of its smallest record key) renumbers people
whenever an older record joins their cluster, and any table in the warehouse is gone after a
rebuilt warehouse or `dbt build --full-refresh`. So the registry (record -> id) and the history of
id events live as Parquet files in the identity state folder (`CDP_STATE_DIR`, default `state/`
beside the DuckDB file; an S3-mounted or backed-up folder in production), read at the start of the
run and replaced atomically at the end.

Rules, all set-based in DuckDB:
- a component whose records already carry exactly one id keeps it (a cluster that grows);
- several ids (clusters merged): the id issued first survives (ties: the smaller id); the others
  are retired with a `merged` event naming the survivor, so synced audiences can be corrected;
- one id spread over several components (a cluster split, e.g. a shared phone now excluded): the
  component holding most of its records (ties: smallest record key) keeps it; the other parts get
  new ids with a `split` event naming the id they came from;
- a component with no id yet gets `cus_` + 16 hex of md5(its smallest record key), salted if that
  id was ever issued before, with a `created` event.
Records that vanished from the sources stay in the registry, so they get their id back if they
return.
"""

import os
from datetime import datetime, timezone
from pathlib import Path

REGISTRY_FILE = "customer_ids.parquet"
EVENTS_FILE = "customer_id_events.parquet"


def _state_dir(session) -> Path:
    """`CDP_STATE_DIR` read when the model runs, like the warehouse path, and not a config set
    from it in YAML: dbt would write the value into the manifest when it parses, and a manifest
    parsed without the variable would differ from one parsed with it, so the record of what the
    last build read would see this model changed and the next build rewrite every union slice."""
    configured = os.environ.get("CDP_STATE_DIR") or ""
    if configured:
        return Path(configured)
    db_file = session.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchone()[0]
    return Path(db_file).resolve().parent / "state"


def _read_or_empty(session, path: Path, name: str, empty_sql: str) -> None:
    if path.exists():
        session.execute(f"create or replace temp table {name} as select * from read_parquet('{path.as_posix()}')")
    else:
        session.execute(f"create or replace temp table {name} as {empty_sql}")


def _write_atomically(session, table: str, path: Path) -> None:
    tmp = path.with_suffix(".parquet.tmp")
    session.execute(f"copy (select * from {table}) to '{tmp.as_posix()}' (format parquet)")
    os.replace(tmp, path)


def model(dbt, session):
    dbt.config(materialized="table")
    state = _state_dir(session)
    state.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)

    dbt.ref("int_identity_components").create_view("_ids_components")
    _read_or_empty(session, state / REGISTRY_FILE, "_ids_prev",
                   "select null::varchar as record_key, null::varchar as customer_id, null::timestamp as assigned_at, "
                   "null::timestamp as id_issued_at where false")
    _read_or_empty(session, state / EVENTS_FILE, "_ids_events_prev",
                   "select null::varchar as event_id, null::timestamp as event_at, null::varchar as event_kind, "
                   "null::varchar as customer_id, null::varchar as related_customer_id, null::bigint as record_count where false")
    session.execute("create or replace temp table _ids_now as select ?::timestamp as now", [now])

    # Which previous ids each component holds, and where each previous id now mostly lives.
    session.execute("""
        create or replace temp table _ids_candidates as
        select c.cluster_key, p.customer_id, count(*) as n, min(p.id_issued_at) as id_issued_at
        from _ids_components c join _ids_prev p using (record_key)
        group by 1, 2
    """)
    session.execute("""
        create or replace temp table _ids_home as
        select customer_id, cluster_key, id_issued_at from (
            select *, row_number() over (partition by customer_id order by n desc, cluster_key) as rn
            from _ids_candidates
        ) where rn = 1
    """)
    session.execute("""
        create or replace temp table _ids_survivors as
        select cluster_key, customer_id, id_issued_at from (
            select *, row_number() over (partition by cluster_key order by id_issued_at, customer_id) as rn
            from _ids_home
        ) where rn = 1
    """)

    # Components without a surviving id get a new one; salt until it was never issued before.
    session.execute("""
        create or replace temp table _ids_issued as
        select customer_id from _ids_prev union select customer_id from _ids_events_prev
    """)
    session.execute("""
        create or replace temp table _ids_new as
        select distinct c.cluster_key, 'cus_' || substr(md5(c.cluster_key), 1, 16) as customer_id, 0 as salt
        from _ids_components c anti join _ids_survivors s using (cluster_key)
    """)
    for salt in range(1, 50):
        clashes = session.execute("""
            select count(*) from _ids_new n
            where n.customer_id in (select customer_id from _ids_issued)
               or n.customer_id in (select customer_id from _ids_new group by 1 having count(*) > 1)
        """).fetchone()[0]
        if clashes == 0:
            break
        session.execute(f"""
            create or replace temp table _ids_new as
            select cluster_key,
                   case when customer_id in (select customer_id from _ids_issued)
                          or customer_id in (select customer_id from _ids_new group by 1 having count(*) > 1)
                        then 'cus_' || substr(md5(cluster_key || '#{salt}'), 1, 16) else customer_id end as customer_id,
                   {salt} as salt
            from _ids_new
        """)
    else:
        raise RuntimeError("could not mint unique customer ids in 50 salts")

    session.execute("""
        create or replace temp table _ids_cluster as
        select cluster_key, customer_id, id_issued_at from _ids_survivors
        union all
        select cluster_key, customer_id, (select now from _ids_now) from _ids_new
    """)

    # Events of this run: created / split (new ids) and merged (retired ids).
    session.execute("""
        create or replace temp table _ids_events_run as
        with sizes as (select cluster_key, count(*) as record_count from _ids_components group by 1),
        split_from as (
            select cand.cluster_key, min(cand.customer_id) as related_customer_id
            from _ids_candidates cand join _ids_home h using (customer_id)
            where h.cluster_key <> cand.cluster_key
            group by 1
        ),
        created as (
            select n.customer_id, sf.related_customer_id, s.record_count,
                   case when sf.related_customer_id is null then 'created' else 'split' end as event_kind
            from _ids_new n join sizes s using (cluster_key) left join split_from sf using (cluster_key)
        ),
        merged as (
            select h.customer_id, s.customer_id as related_customer_id, z.record_count, 'merged' as event_kind
            from _ids_home h
            join _ids_survivors s using (cluster_key)
            join sizes z using (cluster_key)
            where h.customer_id <> s.customer_id
        ),
        events as (select * from created union all select * from merged)
        select md5(event_kind || customer_id || coalesce(related_customer_id, '') || cast((select now from _ids_now) as varchar)) as event_id,
               (select now from _ids_now) as event_at, event_kind, customer_id, related_customer_id, record_count
        from events
    """)

    session.execute("""
        create or replace temp table _ids_registry as
        with current as (
            select c.record_key, k.customer_id,
                   case when p.customer_id = k.customer_id then p.assigned_at else (select now from _ids_now) end as assigned_at,
                   k.id_issued_at
            from _ids_components c
            join _ids_cluster k using (cluster_key)
            left join _ids_prev p using (record_key)
        ),
        vanished as (
            select p.* from _ids_prev p anti join _ids_components c using (record_key)
        )
        select * from current union all select * from vanished
    """)
    session.execute("create or replace temp table _ids_events_all as select * from _ids_events_prev union all select * from _ids_events_run")
    _write_atomically(session, "_ids_registry", state / REGISTRY_FILE)
    _write_atomically(session, "_ids_events_all", state / EVENTS_FILE)

    return session.sql("""
        select r.record_key, r.customer_id, r.assigned_at, r.id_issued_at, p.customer_id as previous_customer_id
        from _ids_registry r
        join _ids_components c using (record_key)
        left join _ids_prev p using (record_key)
    """)
