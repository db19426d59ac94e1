"""`--profile`: pyinstrument over the slowest stage of the full run, run again on its own after
the measured runs (profiling the measured run would slow it). Where it reruns:
- transform: `dbt build` in this process (dbt's Python entry point, same arguments as Dagster's),
  on the same warehouse, with dbt's `--single-threaded` (profilers see only the thread they start
  in; dbt otherwise runs every model in a pool thread), so each model's time shows by call site;
- extract:<system>: that system's ingest asset into a scratch warehouse (a fresh load, not the
  incremental no-op a rerun on the real one would be);
- activation: the sync assets again on the real warehouse (mostly diffs with nothing to send).
"""

from __future__ import annotations

import os
from pathlib import Path


def _profiled(run) -> "object":
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.01)
    profiler.start()
    try:
        run()
    finally:
        profiler.stop()
    return profiler


def stage_assets(graph, stage: str) -> list:
    """The assets a stage other than the transform reruns: an extract's ingest step, or every
    activation asset. By each definition's keys: the dbt step is one definition of many keys,
    whose single `key` does not exist."""
    if stage.startswith("extract:"):
        op = f"{stage.split(':', 1)[1]}_ingest"
        return [a for a in graph.assets_defs if a.op.name == op]
    return [a for a in graph.assets_defs if a.is_executable and any(k.path[0] == "activation" for k in a.keys)]


def profile_stage(stage: str, warehouse: Path, scratch: Path, out: Path) -> Path:
    """Profile `stage` and write pyinstrument's text report to `out`."""
    import dagster as dg

    if stage == "transform":
        from dbt.cli.main import dbtRunner

        from cdp.dbt_cli import dbt_args

        os.environ["CDP_STATE_DIR"] = str(warehouse.resolve().parent / "state")
        os.environ["DBT_SINGLE_THREADED"] = "true"
        try:
            profiler = _profiled(lambda: dbtRunner().invoke(dbt_args(["build"])))
        finally:
            os.environ.pop("DBT_SINGLE_THREADED", None)
    else:
        from demo.stack import environment
        from orchestration.definitions import build_definitions

        # The assets carry their resources, the warehouse read from CDP_DUCKDB_PATH when a step
        # starts: an extract goes to a scratch warehouse by pointing the variable there.
        path = warehouse
        if stage.startswith("extract:"):
            scratch.mkdir(parents=True, exist_ok=True)
            path = scratch / "warehouse.duckdb"
        with environment({"CDP_DUCKDB_PATH": str(path)}):
            assets = stage_assets(build_definitions().resolve_asset_graph(), stage)
            profiler = _profiled(lambda: dg.materialize(assets, raise_on_error=False))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(profiler.output_text(unicode=True, color=False, show_all=False), encoding="utf-8")
    return out
