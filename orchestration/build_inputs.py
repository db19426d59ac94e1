"""What a whole `dbt build` depends on, as one fingerprint, so a run with nothing new skips it.

A daily job that finds nothing new (every source's incremental cursor already current, no new
inbox file) used to rebuild the whole warehouse anyway: minutes at a million people for the
same tables. The build's output is a function of

- the raw tables' contents (row counts and an order-free hash of their rows, dlt's own columns
  left out);
- the dbt project as parsed (the manifest's per-node checksums) and the Python its models import
  (`cdp/`);
- the dbt variables (the business settings, and the defaults in `dbt_project.yml`) and "today" in
  the business time zone when the settings leave the as-of date to the calendar (`as_of_date()`
  is the one clock the models read).

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
# Its `vars:` reach the SQL through var() without changing any model's checksum.
_PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"


_RAW_TABLES = """
    select table_schema, table_name, list(column_name order by ordinal_position)
    from information_schema.columns
    where table_schema like 'raw\\_%' escape '\\' and table_schema not like '%\\_staging' escape '\\'
      and table_name not like '\\_dlt\\_%' escape '\\'
    group by 1, 2 order by 1, 2
"""
# Not content: dlt's own columns (ids and load ids are new on every merge of the same row) and the
# time a bad row was last quarantined (a look-back window quarantines the same row again each run).
_NOT_CONTENT = {"quarantined_at"}
HASH_CACHE = "ops.raw_table_hashes"


def raw_tables_state(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int, str]]:
    """(schema, table, rows, content hash) of every data table dlt wrote (`raw_*`; not its merge
    staging `raw_*_staging`, not its bookkeeping `_dlt_*` tables).

    Content, not load ids: several sources re-read a look-back window or a whole small list on every
    run (a CRM's recently changed contacts, a platform's members), and dlt merges the same rows
    again under a new load id. The hash is the sum of a hash of each row's own columns, so it does
    not depend on row order. Hashing is a full scan (about 2 s for 1.6 M raw rows at 100,000 people),
    so a table whose row count and newest `_dlt_load_id` are what they were when it was last hashed
    reuses that hash (`ops.raw_table_hashes`): dlt stamps every row it writes with its load, so a
    write through dlt moves one of them. A raw table edited by hand is not seen: tag the run
    `cdp/rebuild=always`."""
    tables = con.execute(_RAW_TABLES).fetchall()
    con.execute("create schema if not exists ops")
    con.execute(f"create table if not exists {HASH_CACHE} (table_schema varchar, table_name varchar, "
                "row_count bigint, newest_load_id varchar, content_hash varchar, primary key (table_schema, table_name))")
    cached = {(s, t): (n, newest, h) for s, t, n, newest, h in con.execute(f"select * from {HASH_CACHE}").fetchall()}
    state = []
    for schema, table, columns in tables:
        relation = f'"{schema}"."{table}"'
        newest_expr = "max(_dlt_load_id)" if "_dlt_load_id" in columns else "null"
        rows, newest = con.execute(f"select count(*), {newest_expr} from {relation}").fetchone()
        hit = cached.get((schema, table))
        if newest is not None and hit and hit[:2] == (rows, newest):
            content = hit[2]
        else:
            own = [c for c in columns if not c.startswith("_dlt_") and c not in _NOT_CONTENT]
            row_hash = "hash(" + ", ".join(f'"{c}"' for c in own) + ")" if own else "0"
            content = str(con.execute(f"select coalesce(sum({row_hash}), 0) from {relation}").fetchone()[0])
            con.execute(f"insert or replace into {HASH_CACHE} values (?, ?, ?, ?, ?)", [schema, table, rows, newest, content])
        state.append((schema, table, rows, content))
    return state


def _short(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _project_state(manifest_path: Path) -> list[tuple[str, str]]:
    """Each model, seed and snapshot by its file's checksum and its config (a materialisation or
    contract set in YAML), and each of the project's own macros by its text (a macro edit changes
    the SQL of every model calling it, not the models' files). Tests build nothing."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    project = manifest.get("metadata", {}).get("project_name")

    state = [(uid, _short([(node.get("checksum") or {}).get("checksum"), node.get("config")]))
             for uid, node in manifest.get("nodes", {}).items()
             if node.get("resource_type") in ("model", "seed", "snapshot")]
    state += [(uid, _short(macro.get("macro_sql"))) for uid, macro in manifest.get("macros", {}).items()
              if macro.get("package_name") == project]
    return sorted(state)


def _code_state() -> list[tuple[str, str]]:
    return [(str(p.relative_to(_CODE)), hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(_CODE.rglob("*.py"))]


def today_if_calendar(dbt_vars: dict, now: dt.datetime | None = None) -> str | None:
    """The date the models take as "today", when they take it from the clock (no fixed as-of)."""
    if dbt_vars.get("rfm_as_of"):
        return None
    zone = ZoneInfo(dbt_vars.get("business_timezone") or "Europe/Moscow")
    return (now or dt.datetime.now(dt.timezone.utc)).astimezone(zone).date().isoformat()


def collect_inputs(con: duckdb.DuckDBPyConnection, manifest_path: Path, dbt_vars_json: str,
                   now: dt.datetime | None = None) -> dict[str, str]:
    """Every input by name (`raw_crm.customers`, `model.cdp_lite.customer_360`, `cdp/names.py`,
    `vars`, `today`) with a short digest of its state, so a build can say what changed."""
    inputs = {f"{schema}.{table}": f"{rows}:{content}" for schema, table, rows, content in raw_tables_state(con)}
    inputs |= {uid: checksum for uid, checksum in _project_state(manifest_path)}
    inputs |= {f"cdp/{name}": digest[:16] for name, digest in _code_state()}
    inputs["dbt_project.yml"] = hashlib.sha256(_PROJECT_FILE.read_bytes()).hexdigest()[:16]
    inputs["vars"] = _short(dbt_vars_json)
    inputs["today"] = str(today_if_calendar(json.loads(dbt_vars_json), now))
    return inputs


def digest(inputs: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def fingerprint(con: duckdb.DuckDBPyConnection, manifest_path: Path, dbt_vars_json: str,
                now: dt.datetime | None = None) -> str:
    return digest(collect_inputs(con, manifest_path, dbt_vars_json, now))


def changed(before: dict[str, str], now: dict[str, str]) -> list[str]:
    """Names of the inputs added, removed or different."""
    return sorted(k for k in before.keys() | now.keys() if before.get(k) != now.get(k))


# Inputs that do not change what a staging model selects: staging never reads the calendar date.
_NOT_STAGING_INPUTS = {"today"}
# The staging models a build after raw-only changes must read again (macros/systems/union_slices.sql).
STALE_STAGING_ENV = "CDP_DBT_STALE_STAGING"


def changed_raw_tables(before: dict[str, str], now: dict[str, str]) -> list[str] | None:
    """The raw tables (`schema.table`) whose content differs from the last successful build's, when
    nothing else that staging depends on changed; None when something did (a model, macro, setting,
    our code, or no build on record), and then every union slice is rewritten. This is what lets a
    union table keep the slices of systems that brought nothing new (macros/systems/union_slices.sql)."""
    if not before:
        return None
    what = changed(before, now)
    raw = [name for name in what if name.startswith("raw_")]
    if len(raw) + len([name for name in what if name in _NOT_STAGING_INPUTS]) != len(what):
        return None
    return raw


class UnchangedReads:
    """Which nodes of the manifest read only raw tables not in `changed_raw`, through staging (and
    seeds). One answer for both uses: the union slices a build keeps, and the tests it need not
    run again. Anything upstream built above staging counts as changed: identity or a mart may
    move with any raw table."""

    def __init__(self, manifest_path: Path, changed_raw: list[str]):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        self._nodes, self._sources = manifest.get("nodes", {}), manifest.get("sources", {})
        self._changed = set(changed_raw)
        self._memo: dict[str, bool] = {}

    def _unchanged(self, uid: str) -> bool:
        if uid not in self._memo:
            self._memo[uid] = False  # a cycle cannot happen in dbt's graph; this only guards the recursion
            nodes, sources = self._nodes, self._sources
            if uid in sources:
                self._memo[uid] = f"{sources[uid]['schema']}.{sources[uid]['identifier']}" not in self._changed
            elif uid in nodes and nodes[uid]["resource_type"] == "seed":
                self._memo[uid] = True
            elif uid in nodes and nodes[uid]["resource_type"] == "model" and nodes[uid]["name"].startswith("stg_"):
                self._memo[uid] = all(self._unchanged(parent) for parent in nodes[uid]["depends_on"]["nodes"])
        return self._memo[uid]

    def stale_staging(self) -> list[str]:
        """Names of the staging models that read a changed raw table: a union rewrites the slice of
        `stg_<system>__<shape>` when it is one of them."""
        return sorted(node["name"] for uid, node in self._nodes.items()
                      if node["resource_type"] == "model" and node["name"].startswith("stg_") and not self._unchanged(uid))

    def passed_tests(self) -> list[str]:
        """Names of the data tests that read only unchanged raw tables through staging.

        Such a test ran on the same rows with the same SQL in the last successful build (a build
        after which only raw tables moved: `changed_raw_tables`) and passed, so it would pass again.
        They are most of the tests (about 90 % of the test time at 100,000 people is on staging
        views, which each test reads again from the raw tables)."""
        return sorted(node["name"] for node in self._nodes.values()
                      if node["resource_type"] == "test" and node["depends_on"]["nodes"]
                      and all(self._unchanged(parent) for parent in node["depends_on"]["nodes"]))


def last_built(con: duckdb.DuckDBPyConnection) -> tuple[str, str, dict[str, str]] | None:
    """(fingerprint, run id, inputs) of the last successful full build, if any."""
    schema, table = STATE_TABLE.split(".")
    exists = con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                         [schema, table]).fetchone()[0]
    if not exists:
        return None
    _ensure_state_table(con)
    row = con.execute(f"select fingerprint, run_id, inputs from {STATE_TABLE} order by built_at desc limit 1").fetchone()
    return (row[0], row[1], json.loads(row[2] or "{}")) if row else None


def _ensure_state_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists ops")
    con.execute(f"create table if not exists {STATE_TABLE} (fingerprint varchar, run_id varchar, built_at timestamptz)")
    con.execute(f"alter table {STATE_TABLE} add column if not exists inputs varchar")


def record_built(con: duckdb.DuckDBPyConnection, inputs: dict[str, str], run_id: str) -> None:
    _ensure_state_table(con)
    con.execute(f"insert into {STATE_TABLE} (fingerprint, run_id, built_at, inputs) values (?, ?, now(), ?)",
                [digest(inputs), run_id, json.dumps(inputs, sort_keys=True)])
