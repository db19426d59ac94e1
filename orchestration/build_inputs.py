"""What a whole `dbt build` depends on, as one fingerprint, so a run with nothing new skips it.

A daily job that finds nothing new (every source's incremental cursor already current, no new
inbox file) used to rebuild the whole warehouse anyway: minutes at a million people for the
same tables. The build's output is a function of

- the raw tables: each one's row count and newest `_dlt_load_id` (dlt stamps every row it writes,
  merged or appended, with its load id, so any write moves one or the other);
- the dbt project as parsed (the manifest's per-node checksums) and the Python its models import
  (`cdp/`);
- the dbt variables (the business settings) and "today" in the business time zone when the
  settings leave the as-of date to the calendar (`as_of_date()` is the one clock the models read).

When all of these equal the last successful full build's, the step is skipped; the fingerprint is
written only after a build succeeded. A run tagged `cdp/rebuild=always` builds regardless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

STATE_TABLE = "ops.dbt_build_inputs"
REBUILD_TAG = "cdp/rebuild"
_CODE = Path(__file__).resolve().parents[1] / "cdp"


def raw_tables_state(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, str | None]]:
    """(schema, table, rows, newest load id) of every data table dlt wrote (`raw_*`), dlt's own
    bookkeeping tables left out: a run that loads nothing still writes its pipeline state. A table
    loaded without the `_dlt_load_id` column (dlt's Arrow path can leave it out) counts its schema's
    newest completed load instead, which moves with any load into that schema."""
    tables = con.execute(
        "select table_schema, table_name, bool_or(column_name = '_dlt_load_id') from information_schema.columns "
        "where table_schema like 'raw\\_%' escape '\\' and table_name not like '\\_dlt\\_%' escape '\\' "
        "group by 1, 2 order by 1, 2"
    ).fetchall()
    loads = {s for (s,) in con.execute("select table_schema from information_schema.tables "
                                       "where table_schema like 'raw\\_%' escape '\\' and table_name = '_dlt_loads'").fetchall()}
    parts = []
    for schema, table, stamped in tables:
        newest = ("max(_dlt_load_id)" if stamped else
                  f"(select max(load_id) from \"{schema}\"._dlt_loads where status = 0)" if schema in loads else "null")
        parts.append(f"select '{schema}', '{table}', count(*), {newest} from \"{schema}\".\"{table}\"")
    if not parts:
        return []
    return [tuple(row) for row in con.execute(f"select * from ({' union all '.join(parts)}) order by 1, 2").fetchall()]


def _project_state(manifest_path: Path) -> list[tuple[str, str]]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    return sorted((uid, (node.get("checksum") or {}).get("checksum", "")) for uid, node in nodes.items())


def _code_state() -> list[tuple[str, str]]:
    return [(str(p.relative_to(_CODE)), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(_CODE.rglob("*.py"))]


def today_if_calendar(dbt_vars: dict, now: dt.datetime | None = None) -> str | None:
    """The date the models take as "today", when they take it from the clock (no fixed as-of)."""
    if dbt_vars.get("rfm_as_of"):
        return None
    zone = ZoneInfo(dbt_vars.get("business_timezone") or "Europe/Moscow")
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).date().isoformat()


def fingerprint(con: duckdb.DuckDBPyConnection, manifest_path: Path, dbt_vars_json: str,
                now: dt.datetime | None = None) -> str:
    state = {
        "raw": raw_tables_state(con),
        "project": _project_state(manifest_path),
        "code": _code_state(),
        "vars": dbt_vars_json,
        "today": today_if_calendar(json.loads(dbt_vars_json), now),
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def last_built(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(fingerprint, run id) of the last successful full build, if any."""
    schema, table = STATE_TABLE.split(".")
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                         [schema, table]).fetchone()[0]
    if not exists:
        return None
    row = con.execute(f"select fingerprint, run_id from {STATE_TABLE} order by built_at desc limit 1").fetchone()
    return (row[0], row[1]) if row else None


def record_built(con: duckdb.DuckDBPyConnection, value: str, run_id: str) -> None:
    con.execute("create schema if not exists ops")
    con.execute(f"create table if not exists {STATE_TABLE} (fingerprint varchar, run_id varchar, built_at timestamptz)")
    con.execute(f"insert into {STATE_TABLE} values (?, ?, now())", [value, run_id])
