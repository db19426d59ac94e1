"""Run the whole chain once, the way the daily job does, and summarise it for a person."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import dagster as dg

from cdp.summary import print_summary, summary  # noqa: F401  (the demo's summary)


def materialize_all(env: dict[str, str], log_folder: Path | None = None,
                    on_event: Callable[[str, str], None] | None = None) -> dg.ExecuteInProcessResult:
    """The daily job with a progress bar; the full log goes to `log_folder` (default: `logs/`
    beside the warehouse). `on_event(event_type, step_key)` sees each event (the benchmark)."""
    from orchestration.definitions import build_definitions
    from orchestration.progress import log_file_for, run_with_progress

    folder = log_folder or Path(env.get("CDP_DUCKDB_PATH", "data/warehouse.duckdb")).resolve().parent / "logs"
    return run_with_progress(build_definitions(), "daily_refresh_job", log_file_for(folder, "daily_refresh_job"),
                             on_event=on_event)


