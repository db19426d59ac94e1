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


def record_sent(con, destination: str, segment: str, target: str, rows: pd.DataFrame, status: str) -> None:
    if rows.empty:
        return
    frame = rows[["identifier", "customer_id"]].assign(destination=destination, segment=segment, target=target, status=status)
    con.register("_sent", frame)
    con.execute(
        """
        insert or replace into activation.sync_state (destination, segment, target, identifier, customer_id, status, synced_at)
        select destination, segment, target, identifier, customer_id, status, current_timestamp from _sent
        """
    )
    con.unregister("_sent")


def record_removed(con, destination: str, segment: str, target: str, identifiers: list[str]) -> None:
    if identifiers:
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
