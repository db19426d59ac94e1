"""The audience a destination would receive: segment members with valid consent for the
destination's channel and a usable identifier. Built in SQL, counted, and checked before any sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

CONSENT_TABLE = "marts.consent_current"


@dataclass(frozen=True)
class Destination:
    segment: str  # dbt model name, e.g. seg_reactivation
    type: str  # unisender | s3_file
    channel: str  # consent channel that applies, e.g. email
    identifier: str  # column sent as the contact identifier, e.g. email
    description: str = ""
    options: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def audience_table(self) -> str:
        return f"activation.audience__{self.type}__{self.segment}"


def build(con: duckdb.DuckDBPyConnection, dest: Destination) -> dict[str, int]:
    con.execute("create schema if not exists activation")
    con.execute(
        f"""
        create or replace table {dest.audience_table} as
        select s.customer_id, s.{dest.identifier} as identifier, s.given_name,
               c.granting_event_id as consent_event_id
        from segments.{dest.segment} s
        join {CONSENT_TABLE} c
          on c.customer_id = s.customer_id and c.channel = ? and c.has_consent
        where s.{dest.identifier} is not null
        """,
        [dest.channel],
    )
    members, sendable = con.execute(
        f"select (select count(*) from segments.{dest.segment}), (select count(*) from {dest.audience_table})"
    ).fetchone()
    with_identifier = con.execute(f"select count(*) from segments.{dest.segment} where {dest.identifier} is not null").fetchone()[0]
    return {
        "segment_members": members,
        "without_identifier": members - with_identifier,
        "without_consent": with_identifier - sendable,
        "audience": sendable,
    }


def members_without_consent(con: duckdb.DuckDBPyConnection, dest: Destination) -> int:
    """Independent re-check of the gate: counted against consent_current, not trusted from build()."""
    return con.execute(
        f"""
        select count(*) from {dest.audience_table} a
        where not exists (
            select 1 from {CONSENT_TABLE} c
            where c.customer_id = a.customer_id and c.channel = ? and c.has_consent
        ) or a.identifier is null
        """,
        [dest.channel],
    ).fetchone()[0]
