"""What was sent where, kept in the warehouse's `activation` schema, so every sync is a diff,
idempotent and resumable:

- `sync_state`: who is at each destination list now by our account (one row per accepted member).
  A batch's members are written right after the destination accepted them, so a run killed
  between batches resumes where it stopped.
- `sync_log`: append-only; every contact sent, confirmed, rejected or removed, with the consent
  event that allowed a send copied at send time, so the proof outlives later changes to the consent
  marts (38-FZ art. 18: the sender must be able to prove consent). `consent_proof` reads it.
- `sync_rejections`: contacts a destination refused, with its reason; retried on the next run and
  dropped once accepted.
- `sync_batches`: one row per call, with its outcome; `sync_report`: one row per audience and run.
- `destination_lists`: the platform's handle of each audience (ad platforms' create quotas are
  small, so a list is reused while the platform still has it).
- `segment_assignments`: once per activated segment and run, every member with its control flag
  (the lift mart reads it with sync_log).
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

from cdp.audiences import AudienceSpec
from connectors.common.destination import ListRef

DDL = """
create schema if not exists activation;
create table if not exists activation.sync_state (
    destination varchar, segment varchar, target varchar, identifier varchar,
    customer_id varchar, address varchar, fields_hash varchar, synced_at timestamp default current_timestamp,
    primary key (destination, segment, target, identifier)
);
create table if not exists activation.sync_log (
    run_id varchar, destination varchar, segment varchar, target varchar, identifier varchar,
    customer_id varchar, action varchar, status varchar, channel varchar,
    consent_event_id varchar, consent_source_system varchar, consent_event_at timestamp,
    consent_evidence varchar, detail varchar, logged_at timestamp default current_timestamp
);
create or replace view activation.consent_proof as
    select destination, segment, target, identifier, customer_id, channel, logged_at as sent_at,
           consent_event_id, consent_source_system, consent_event_at, consent_evidence, run_id
    from activation.sync_log
    where action in ('sent', 'confirmed') and status = 'sent';
create table if not exists activation.sync_rejections (
    destination varchar, segment varchar, target varchar, identifier varchar, customer_id varchar,
    reason varchar, run_id varchar, attempts integer, rejected_at timestamp default current_timestamp,
    primary key (destination, segment, target, identifier)
);
create table if not exists activation.sync_batches (
    run_id varchar, destination varchar, segment varchar, target varchar, batch_no integer,
    action varchar, contacts integer, accepted integer, rejected integer, detail varchar,
    finished_at timestamp default current_timestamp
);
create table if not exists activation.destination_lists (
    destination varchar, segment varchar, list_id varchar, list_name varchar, address_type varchar,
    updated_at timestamp default current_timestamp, primary key (destination, segment)
);
create table if not exists activation.segment_assignments (
    run_id varchar, segment varchar, customer_id varchar, is_control boolean, assigned_at timestamp
);
create table if not exists activation.sync_report (
    run_id varchar, destination varchar, segment varchar, list_name varchar, list_id varchar, mode varchar,
    dry_run boolean, status varchar, audience integer, held_before integer, added integer, removed integer,
    rejected integer, rejected_reasons varchar, held_after integer, matched integer, message varchar,
    reported_at timestamp default current_timestamp, read_back boolean
);
alter table activation.sync_report add column if not exists read_back boolean;
"""


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def known_list(con, spec: AudienceSpec) -> ListRef | None:
    row = con.execute("select list_id, list_name from activation.destination_lists where destination = ? and segment = ?",
                      [spec.destination, spec.segment]).fetchall()
    return ListRef(row[0][0], row[0][1]) if row else None


def remember_list(con, spec: AudienceSpec, ref: ListRef) -> None:
    con.execute("insert or replace into activation.destination_lists values (?, ?, ?, ?, ?, current_timestamp)",
                [spec.destination, spec.segment, ref.id, ref.name, spec.address_type])


def forget_target(con, spec: AudienceSpec, target: str) -> None:
    """Drop what we recorded under a list the platform no longer has (the log keeps the history)."""
    for table in ("sync_state", "sync_rejections"):
        con.execute(f"delete from activation.{table} where destination = ? and segment = ? and target = ?",
                    [spec.destination, spec.segment, target])


def last_read_back(con, spec: AudienceSpec, target: str, hours: float) -> tuple | None:
    """(when, how many the platform matched) of the last read-back of this list by a sync that
    succeeded, if that was less than `hours` ago."""
    rows = con.execute(
        """select reported_at, matched from activation.sync_report
           where destination = ? and segment = ? and list_id = ? and read_back and not dry_run
             and status in ('ok', 'no_change')
             and reported_at >= current_timestamp::timestamp - to_microseconds(cast(? * 3600e6 as bigint))
           order by reported_at desc limit 1""",
        [spec.destination, spec.segment, target, hours]).fetchall()
    return rows[0] if rows else None


def retarget(con, spec: AudienceSpec, old: str, new: str) -> None:
    """What was recorded under a list's provisional id now belongs to its real id."""
    for table in ("sync_state", "sync_rejections"):
        con.execute(f"update activation.{table} set target = ? where destination = ? and segment = ? and target = ?",
                    [new, spec.destination, spec.segment, old])


def identifiers(con, spec: AudienceSpec, target: str) -> set[str]:
    return {i for (i,) in con.execute(
        "select identifier from activation.sync_state where destination = ? and segment = ? and target = ?",
        [spec.destination, spec.segment, target]).fetchall()}


def forget_missing(con, spec: AudienceSpec, target: str, holding: set[str]) -> int:
    """Drop state rows the destination no longer holds (a list emptied outside): they are sent again."""
    con.register("_holding", pa.table({"identifier": pa.array(sorted(holding), pa.string())}))
    try:
        return con.execute(
            """delete from activation.sync_state where destination = ? and segment = ? and target = ?
               and identifier not in (select identifier from _holding) returning 1""",
            [spec.destination, spec.segment, target]).fetchall().__len__()
    finally:
        con.unregister("_holding")


def record_sent(con, spec: AudienceSpec, target: str, identifiers_: list[str], run_id: str, action: str = "sent") -> None:
    """Mark audience members as at the destination and log each with the grant that allowed it."""
    if not identifiers_:
        return
    con.register("_ok", pa.table({"identifier": pa.array(identifiers_, pa.string())}))
    try:
        con.execute(
            f"""
            create or replace temp table _sent as
            select a.identifier, a.customer_id, a.address, md5(coalesce(a.given_name, '')) as fields_hash, a.consent_event_id
            from activation.{spec.model} a semi join _ok using (identifier)
            """)
        con.execute(
            """insert or replace into activation.sync_state
               select ?, ?, ?, identifier, customer_id, address, fields_hash, current_timestamp from _sent""",
            [spec.destination, spec.segment, target])
        con.execute(
            """insert into activation.sync_log (run_id, destination, segment, target, identifier, customer_id, action, status,
                                                channel, consent_event_id, consent_source_system, consent_event_at, consent_evidence)
               select ?, ?, ?, ?, s.identifier, s.customer_id, ?, 'sent', ?, s.consent_event_id, e.source_system, e.event_at, e.evidence
               from _sent s left join marts.consent_events e on e.consent_event_id = s.consent_event_id""",
            [run_id, spec.destination, spec.segment, target, action, spec.channel])
        con.execute("delete from activation.sync_rejections where destination = ? and segment = ? and target = ? "
                    "and identifier in (select identifier from _sent)", [spec.destination, spec.segment, target])
    finally:
        con.unregister("_ok")


def record_rejected(con, spec: AudienceSpec, target: str, rejected: dict[str, str], run_id: str) -> None:
    if not rejected:
        return
    con.register("_bad", pa.table({"identifier": pa.array(list(rejected), pa.string()),
                                   "reason": pa.array(list(rejected.values()), pa.string())}))
    try:
        con.execute(
            f"""
            insert or replace into activation.sync_rejections
            select ?, ?, ?, b.identifier, a.customer_id, b.reason, ?, coalesce(r.attempts, 0) + 1, current_timestamp
            from _bad b
            left join activation.{spec.model} a using (identifier)
            left join activation.sync_rejections r
              on r.destination = ? and r.segment = ? and r.target = ? and r.identifier = b.identifier
            """, [spec.destination, spec.segment, target, run_id, spec.destination, spec.segment, target])
        con.execute(
            f"""insert into activation.sync_log (run_id, destination, segment, target, identifier, customer_id, action, status, channel, detail)
                select ?, ?, ?, ?, b.identifier, a.customer_id, 'rejected', 'rejected', ?, b.reason
                from _bad b left join activation.{spec.model} a using (identifier)""",
            [run_id, spec.destination, spec.segment, target, spec.channel])
    finally:
        con.unregister("_bad")


def record_removed(con, spec: AudienceSpec, target: str, identifiers_: list[str], run_id: str, why: str) -> None:
    if not identifiers_:
        return
    con.register("_gone", pa.table({"identifier": pa.array(identifiers_, pa.string())}))
    try:
        con.execute(
            """insert into activation.sync_log (run_id, destination, segment, target, identifier, customer_id, action, status, channel, detail)
               select ?, ?, ?, ?, g.identifier, s.customer_id, 'removed', 'removed', ?, ?
               from _gone g left join activation.sync_state s
                 on s.destination = ? and s.segment = ? and s.target = ? and s.identifier = g.identifier""",
            [run_id, spec.destination, spec.segment, target, spec.channel, why, spec.destination, spec.segment, target])
        con.execute("delete from activation.sync_state where destination = ? and segment = ? and target = ? "
                    "and identifier in (select identifier from _gone)", [spec.destination, spec.segment, target])
    finally:
        con.unregister("_gone")


def record_batch(con, run_id: str, spec: AudienceSpec, target: str, batch_no: int, action: str,
                 contacts: int, accepted: int, rejected: int, detail: str = "") -> None:
    con.execute("insert into activation.sync_batches values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
                [run_id, spec.destination, spec.segment, target, batch_no, action, contacts, accepted, rejected, detail])


def assign_segment(con, run_id: str, segment: str) -> None:
    """Every member of the segment with its control flag, once per segment and run."""
    con.execute(
        f"""
        insert into activation.segment_assignments
        select ?, ?, cast(s.customer_id as varchar), c.customer_id is not null, current_timestamp
        from segments.{segment} s
        left join activation.control_group_members c on c.segment = ? and c.customer_id = cast(s.customer_id as varchar)
        where not exists (select 1 from activation.segment_assignments where run_id = ? and segment = ?)
        """, [run_id, segment, segment, run_id, segment])


def write_report(con, row: dict) -> None:
    values = {**row, "rejected_reasons": json.dumps(row.get("rejected_reasons") or {}, ensure_ascii=False)}
    columns = [c for c in values if c != "reported_at"]
    con.execute(f"insert into activation.sync_report ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                [values[c] for c in columns])
