"""The benchmark: the whole pipeline at scale, timed per stage, with memory and identity quality,
checked against the targets below. Speed and memory targets live here, never in unit tests.

    make bench                                   # 100,000 people
    python -m demo.bench --customers 1000000     # the generator's ceiling

The emulators' rate limits are lifted (`--rate-limit`): the real services' throttles would
dominate and they are not ours to speed up; the connectors' handling of 429 is covered by tests.
Results go to `<out>/bench.json` as well as the terminal; the exit code is 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import time
from pathlib import Path

from demo.generate import Config, generate
from demo.pipeline import materialize_all
from demo.stack import environment, running_stack

# Targets per 100,000 people on the reference machine (2 cores, 24 GiB); scaled linearly above.
TARGETS_PER_100K = {
    "generate_seconds": 10.0,
    "pipeline_seconds": 600.0,  # extract through sync, emulators included
    "transform_seconds": 120.0,  # the dbt step alone: identity, marts, segments
}
PEAK_RSS_GIB = 8.0  # the pipeline process, whatever the scale up to 1 M
IDENTITY = {"precision": 0.995, "recall": 0.98}


def _step_seconds(result) -> dict[str, float]:
    """Each step's own duration as Dagster reports it on success."""
    took: dict[str, float] = {}
    for event in result.all_events:
        if event.event_type_value == "STEP_SUCCESS" and event.step_key:
            took[event.step_key] = round(event.event_specific_data.duration_ms / 1000, 2)
    return dict(sorted(took.items(), key=lambda kv: -kv[1])[:15])


def run(customers: int, out: Path) -> dict:
    from cdp.identity_quality import measure

    shutil.rmtree(out, ignore_errors=True)
    data, warehouse = out / "data", out / "warehouse.duckdb"
    t0 = time.perf_counter()
    meta = generate(Config(customers=customers), data)
    generate_s = time.perf_counter() - t0
    with running_stack(data, rate_limit=100_000) as env:
        env = {**env, "CDP_DUCKDB_PATH": str(warehouse.resolve())}
        with environment(env):
            t1 = time.perf_counter()
            result = materialize_all(env)
            pipeline_s = time.perf_counter() - t1
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        raise SystemExit(f"pipeline failed in {failed}")
    quality = measure(warehouse, data / "ground_truth" / "identity.csv")
    scale = max(customers / 100_000, 1.0)  # fixed costs dominate small runs: no tighter than at 100k
    report = {
        "customers": customers,
        "source_rows": meta["rows"],
        "generate_seconds": round(generate_s, 1),
        "pipeline_seconds": round(pipeline_s, 1),
        "transform_seconds": _step_seconds(result).get("dbt_models", float("nan")),
        "steps_seconds": _step_seconds(result),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
        "identity": {"precision": quality.precision, "recall": quality.recall, "f1": quality.f1,
                     "records": quality.records, "customers": quality.customers},
    }
    checks = {f"{k} <= {v * scale:.0f}": report[k] <= v * scale for k, v in TARGETS_PER_100K.items()}
    checks[f"peak_rss_gib <= {PEAK_RSS_GIB}"] = report["peak_rss_gib"] <= PEAK_RSS_GIB
    checks.update({f"identity {k} >= {v}": getattr(quality, k) >= v for k, v in IDENTITY.items()})
    report["targets"] = checks
    (out / "bench.json").write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time the whole pipeline at scale against the targets.")
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--out", type=Path, default=Path("data/bench"))
    args = ap.parse_args(argv)
    report = run(args.customers, args.out)
    print(json.dumps({k: v for k, v in report.items() if k != "targets"}, ensure_ascii=False, indent=2))
    for name, ok in report["targets"].items():
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    return 0 if all(report["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
