"""`python -m demo.bench.job --json F --marks-fd N`: the daily job once, in this process, for the
benchmark (demo/bench/stages.py). A deployment runs each run in a process of its own (Dagster's
run launcher), so the benchmark does too: the process that generated a million people's data is
not the run, and its leftovers must not count as the run's memory.

Each step's start and end is written at once to descriptor N as a JSON line `[event, step]`; the
benchmark samples the process tree on reading it. The end result (failed steps, rows loaded per
step) goes to F.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def rows_loaded(result) -> dict[str, int]:
    """Rows dlt loaded per step (its `rows_loaded` metadata); the audience sizes for syncs."""
    rows: dict[str, int] = {}
    for event in result.all_events:
        if event.event_type_value != "ASSET_MATERIALIZATION":
            continue
        meta = event.event_specific_data.materialization.metadata
        value = meta.get("rows_loaded") or meta.get("audience")
        if value is not None and isinstance(getattr(value, "value", None), int):
            rows[event.step_key] = rows.get(event.step_key, 0) + value.value
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo.bench.job", description=__doc__)
    ap.add_argument("--json", type=Path, required=True)
    ap.add_argument("--marks-fd", type=int, required=True)
    args = ap.parse_args(argv)
    from demo.pipeline import materialize_all

    with os.fdopen(args.marks_fd, "w", encoding="utf-8", buffering=1) as marks:
        def on_event(kind: str, step: str) -> None:
            if kind in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
                marks.write(json.dumps([kind, step]) + "\n")

        result = materialize_all(dict(os.environ), on_event=on_event)
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    if not result.success and not failed:
        failed = ["(the run failed outside a step)"]
    args.json.write_text(json.dumps({"failed": failed, "rows_loaded": rows_loaded(result)}), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
