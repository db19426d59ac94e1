"""What was last sent where: the sync state that makes every activation a diff, idempotent and
resumable. A batch's members are written to state right after the destination accepted it, so a
crash between batches resumes where it stopped, and a re-run with no change sends nothing."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

DDL = """
create schema if not exists activation;
create table if not exists activation.sync_state (
    destination varchar, segment varchar, target varchar, identifier varchar,
    customer_id varchar, status varchar, synced_at timestamp default current_timestamp,
    primary key (destination, segment, target, identifier)
);
-- Append-only: every contact ever sent or withdrawn, with the consent event that allowed the send
-- copied at send time, so the proof outlives later changes to the consent marts (38-FZ art. 18:
-- the sender must be able to prove consent).
create table if not exists activation.sync_log (
    run_id varchar, destination varchar, segment varchar, target varchar, identifier varchar,
    customer_id varchar, action varchar, status varchar, channel varchar,
    consent_event_id varchar, consent_source_system varchar, consent_event_at timestamp,
    consent_evidence varchar, logged_at timestamp default current_timestamp
);
create or replace view activation.consent_proof as
    select destination, segment, target, identifier, customer_id, channel, logged_at as sent_at,
           consent_event_id, consent_source_system, consent_event_at, consent_evidence, run_id
    from activation.sync_log
    where action = 'sent' and status = 'sent';
create table if not exists activation.sync_batches (
    run_id varchar, destination varchar, segment varchar, target varchar, batch_no integer,
    action varchar, contacts integer, accepted integer, rejected integer, detail varchar,
    finished_at timestamp default current_timestamp
);
"""


@dataclass
class Diff:
    adds: pd.DataFrame  # rows of the audience not yet at the destination
    removes: list[str]  # identifiers at the destination that left the audience

    @property
    def empty(self) -> bool:
        return self.adds.empty and not self.removes


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def diff(con: duckdb.DuckDBPyConnection, destination: str, segment: str, target: str, audience_table: str) -> Diff:
    ensure_tables(con)
    params = [destination, segment, target]
    adds = con.execute(
        f"""
        select a.* from {audience_table} a
        anti join (select identifier from activation.sync_state
                   where destination = ? and segment = ? and target = ?) s
            on s.identifier = a.identifier
        order by a.identifier
        """,
        params,
    ).df()
    removes = [r[0] for r in con.execute(
        f"""
        select s.identifier from activation.sync_state s
        where s.destination = ? and s.segment = ? and s.target = ?
          and s.identifier not in (select identifier from {audience_table})
        order by 1
        """,
        params,
    ).fetchall()]
    return Diff(adds, removes)


def record_sent(con, destination: str, segment: str, target: str, rows: pd.DataFrame, status: str,
                run_id: str = "", channel: str = "") -> None:
    """Mark rows as at the destination and log them with the consent event that allowed them
    (`consent_event_id` from the audience table, resolved against consent_events now)."""
    if rows.empty:
        return
    columns = ["identifier", "customer_id"] + (["consent_event_id"] if "consent_event_id" in rows else [])
    frame = rows[columns].assign(destination=destination, segment=segment, target=target, status=status)
    if "consent_event_id" not in frame:
        frame["consent_event_id"] = None
    con.register("_sent", frame)
    con.execute(
        """
        insert or replace into activation.sync_state (destination, segment, target, identifier, customer_id, status, synced_at)
        select destination, segment, target, identifier, customer_id, status, current_timestamp from _sent
        """
    )
    con.execute(
        """
        insert into activation.sync_log (run_id, destination, segment, target, identifier, customer_id, action, status,
                                         channel, consent_event_id, consent_source_system, consent_event_at, consent_evidence)
        select ?, s.destination, s.segment, s.target, s.identifier, s.customer_id, 'sent', s.status, ?,
               s.consent_event_id, e.source_system, e.event_at, e.evidence
        from _sent s
        left join marts.consent_events e on e.consent_event_id = s.consent_event_id
        """,
        [run_id, channel],
    )
    con.unregister("_sent")


def record_removed(con, destination: str, segment: str, target: str, identifiers: list[str], run_id: str = "") -> None:
    if identifiers:
        con.execute(
            """
            insert into activation.sync_log (run_id, destination, segment, target, identifier, customer_id, action, status)
            select ?, destination, segment, target, identifier, customer_id, 'removed', 'removed'
            from activation.sync_state
            where destination = ? and segment = ? and target = ? and identifier in (select unnest(?))
            """,
            [run_id, destination, segment, target, identifiers],
        )
        con.execute(
            "delete from activation.sync_state where destination = ? and segment = ? and target = ? and identifier in (select unnest(?))",
            [destination, segment, target, identifiers],
        )


def record_batch(con, run_id: str, destination: str, segment: str, target: str, batch_no: int, action: str,
                 contacts: int, accepted: int, rejected: int, detail: str = "") -> None:
    con.execute(
        "insert into activation.sync_batches (run_id, destination, segment, target, batch_no, action, contacts, accepted, rejected, detail) values (?,?,?,?,?,?,?,?,?,?)",
        [run_id, destination, segment, target, batch_no, action, contacts, accepted, rejected, detail],
    )
