"""A dbt command under Dagster starts from the partial-parse file of its settings' manifest, and
leaves its own there for the next one (orchestration/dbt.py): real `dbt parse` runs, whose own log
says how much they parsed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.dbt import ensure_manifest, invocation_target, keep_parse

ROOT = Path(__file__).resolve().parents[2]


def _parse(target: Path, warehouse: Path, **extra_env: str) -> str:
    env = {**os.environ, "CDP_DUCKDB_PATH": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **extra_env}
    done = subprocess.run([sys.executable, "-m", "cdp.dbt_cli", "parse", "--target-path", str(target),
                           "--log-path", str(target)], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    return "".join(p.read_text(encoding="utf-8", errors="replace") for p in target.glob("dbt.log*"))


def test_the_next_command_on_the_same_warehouse_parses_only_what_changed(tmp_path):
    # A copy of the settings' folder: the parse file handed back must not replace the one the
    # project's own runs use (it would carry this test's warehouse path).
    settings = tmp_path / ensure_manifest().parent.name
    shutil.copytree(ensure_manifest().parent, settings)
    manifest = settings / "manifest.json"
    warehouse = tmp_path / "warehouse.duckdb"  # a profile no earlier parse has seen
    first = invocation_target(manifest, "test_parse")
    second = None
    try:
        assert (first / "partial_parse.msgpack").exists()
        log = _parse(first, warehouse)
        assert "Unable to do partial parsing because profile has changed" in log
        keep_parse(first, manifest)

        second = invocation_target(manifest, "test_parse")
        log = _parse(second, warehouse)
        assert "Partial parsing enabled" in log and "Unable to do partial parsing" not in log
    finally:
        for folder in (first, second):
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)


def test_the_manifest_does_not_depend_on_where_the_identity_state_lives(tmp_path):
    """The record of a build's inputs takes each model's config from the manifest: a value dbt
    wrote there from the environment at parse time would make a parse with other variables look
    like a changed model, and the next build would rewrite every union slice."""
    state = tmp_path / "somewhere-else-state-7f3a"
    target = tmp_path / "target"
    _parse(target, tmp_path / "warehouse.duckdb", CDP_STATE_DIR=str(state))
    manifest = (target / "manifest.json").read_text(encoding="utf-8")
    assert '"int_customer_ids_assigned"' in manifest
    assert state.name not in manifest
