"""`python -m demo run|ui`: generate demo data, start the emulators, and run the pipeline (run) or
open the Dagster UI against them (ui), with the demo's business configuration (demo/business.yml,
set as CDP_BUSINESS_CONFIG by demo.stack like every other variable the demo writes to data/demo.env)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from demo.generate import Config, generate
from demo.stack import environment, running_stack

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    ap.add_argument("command", choices=["run", "ui"])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    ap.add_argument("--warehouse", type=Path, default=ROOT / "data" / "warehouse.duckdb")
    ap.add_argument("--fresh", action="store_true", help="regenerate data and start from an empty warehouse")
    args = ap.parse_args()

    meta_file = args.data / "ground_truth" / "meta.json"
    if args.fresh or not meta_file.exists() or json.loads(meta_file.read_text())["customers"] != args.customers:
        started = time.perf_counter()
        meta = generate(Config(customers=args.customers), args.data)
        print(f"Generated demo data for {args.customers:,} people in {time.perf_counter() - started:.1f}s: {meta['rows']}")
    if args.fresh:  # new data means new people: drop the warehouse and everything that remembers the old one
        args.warehouse.unlink(missing_ok=True)
        for kept in ("state", ".dlt_pipelines"):
            shutil.rmtree(args.warehouse.parent / kept, ignore_errors=True)
    args.warehouse.parent.mkdir(parents=True, exist_ok=True)

    with running_stack(args.data) as env:
        env = {**env, "CDP_DUCKDB_PATH": str(args.warehouse.resolve())}
        # The warehouse may live elsewhere (--warehouse): data/ is not there yet on a fresh clone.
        (ROOT / "data").mkdir(exist_ok=True)
        (ROOT / "data" / "demo.env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        with environment(env):
            if args.command == "ui":
                home = ROOT / "data" / "dagster_home"
                home.mkdir(parents=True, exist_ok=True)
                (home / "dagster.yaml").write_text("concurrency:\n  runs:\n    max_concurrent_runs: 1\n  pools:\n    default_limit: 1\n")
                print("Emulators are up; starting `dagster dev` on http://127.0.0.1:3000 (Ctrl-C stops everything)")
                return subprocess.call([str(Path(sys.executable).parent / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"),
                                        "-h", "127.0.0.1", "-p", "3000"], env={**os.environ, "DAGSTER_HOME": str(home)}, cwd=ROOT)
            from demo.pipeline import materialize_all, print_summary, summary

            started = time.perf_counter()
            result = materialize_all(env)
            elapsed = time.perf_counter() - started
            if not result.success:
                failed = [e for e in result.all_events if e.is_failure]
                for event in failed[:5]:
                    print(f"FAILED: {event.step_key}: {event.event_specific_data.error.message if event.event_specific_data and hasattr(event.event_specific_data, 'error') and event.event_specific_data.error else event.message}", file=sys.stderr)
                return 1
            print(f"Pipeline finished in {elapsed:.1f}s")
            print_summary(summary(args.warehouse, env, args.data), args.warehouse)
            print("Dagster UI with the same emulators:  make ui   (then open http://127.0.0.1:3000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
