"""What a build hands dbt so a model whose inputs did not change keeps its table (an early cutoff;
the rule itself is in dbt_project/macros/materializations/cutoff.sql).

The orchestrator already knows, for the build fingerprint, every raw table's content and every
piece of the project's code (build_inputs.collect_inputs); dbt gets them as the environment
variable CDP_DBT_CUTOFF rather than computing them again inside each model. It also owns the table
the models record their inputs and content in, and keeps it small.
"""

from __future__ import annotations

import json
import os
from importlib.metadata import version
from pathlib import Path

import duckdb

from orchestration import build_inputs

ENV = "CDP_DBT_CUTOFF"
TABLE = "ops.dbt_model_digests"
# The engine and the adapter decide what the same SQL writes (and what a row's hash is).
_PACKAGES = ("duckdb", "dbt-core", "dbt-duckdb")
# Each model's own file and config are part of its own inputs; a raw table is a source's content.
_NOT_CODE_PREFIXES = ("model.", "seed.", "snapshot.", "raw_")


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """The record table, with every model's older records dropped (only the newest counts)."""
    con.execute("create schema if not exists ops")
    con.execute(f"create sequence if not exists {TABLE}_seq")
    con.execute(f"create table if not exists {TABLE} (seq bigint default nextval('{TABLE}_seq'), node varchar, "
                "inputs_digest varchar, content_digest varchar, invocation_id varchar, recorded_at timestamptz default now())")
    con.execute(f"delete from {TABLE} d where seq < (select max(seq) from {TABLE} n where n.node = d.node)")


def settings(con: duckdb.DuckDBPyConnection, manifest_path: Path, inputs: dict[str, str], keep: bool = True) -> str:
    """CDP_DBT_CUTOFF's value for a build whose inputs are `inputs` (build_inputs.collect_inputs).

    - code: every input that is neither a raw table, nor a model's or seed's own file (each model
      checks its own and its parents'), nor the date, plus the package versions;
    - today: the date the models take as today (none when the settings fix it);
    - sources: each source's raw table content, or "absent" when the table does not exist (staging
      then reads zero rows); a source whose table exists but was not hashed is left out, which
      makes its readers unknown and always built."""
    code = {name: value for name, value in inputs.items()
            if not name.startswith(_NOT_CODE_PREFIXES) and name != "today"}
    code |= {f"package:{name}": version(name) for name in _PACKAGES}
    existing = {f"{s}.{t}" for s, t in con.execute("select table_schema, table_name from information_schema.tables").fetchall()}
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    sources = {}
    for uid, source in manifest.get("sources", {}).items():
        name = f"{source['schema']}.{source['identifier']}"
        if name in inputs:
            sources[uid] = inputs[name]
        elif name not in existing:
            sources[uid] = "absent"
    return json.dumps({"code": build_inputs.digest(code), "today": inputs.get("today"), "sources": sources, "keep": keep},
                      sort_keys=True)


KEPT_METADATA = "cdp/kept"


def is_kept(raw_event: dict) -> bool:
    """Whether a dbt log event (`--log-format json`) is the result of a model that kept its table:
    the event dagster-dbt turns into the model's materialisation (dbt-core's LogModelResult, whose
    status is the materialization's message)."""
    data = raw_event.get("data", {})
    return raw_event.get("info", {}).get("name") == "LogModelResult" and data.get("status") == "KEPT"


def kept_in(target: Path) -> list[str]:
    """The models a dbt command kept (its run_results.json, in its target folder)."""
    results = target / "run_results.json"
    if not results.exists():
        return []
    done = json.loads(results.read_text(encoding="utf-8")).get("results", [])
    return sorted(r["unique_id"] for r in done if r.get("message") == "KEPT")


def environ_for(value: str | None) -> None:
    if value is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = value
