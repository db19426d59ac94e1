"""Identity quality on two sets side by side: the evaluation set the demo generator did not write
(`tests/fixtures/identity_eval/`, exports of a made-up shop with planted hard cases and the truth)
and the demo's own data. The demo figures alone flatter the model: its rules were tuned to the
generator's traps. Both sets go through the real pipeline, the model and the naive rule are scored
on the same records (cdp/identity_quality.py).

    python -m cdp.identity_quality compare [--demo-warehouse W --demo-data D] [--json]

The evaluation set is built like a user's own exports (`python -m orchestration.run`, no
activation) into a temporary warehouse. The demo is taken from an existing warehouse and data
folder (`make demo` leaves them in data/), else generated and run at small scale in a temporary
folder, emulators included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL_SET = ROOT / "tests" / "fixtures" / "identity_eval"
DEMO_DATA = ROOT / "data" / "demo"
DEMO_WAREHOUSE = ROOT / "data" / "warehouse.duckdb"


class BuildError(RuntimeError):
    pass


def build_eval_warehouse(eval_set: Path, work: Path) -> Path:
    """The evaluation set's exports through the pipeline, as a user's own files go (extract and
    dbt build, no activation), into `work`. The set is copied first so nothing is written beside
    the committed files; the identity state (id registry) lives in `work` too."""
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "eval_set"
    shutil.rmtree(copy, ignore_errors=True)
    copy.mkdir()
    for name in ("business.yml", "mapping.yml"):
        shutil.copy2(eval_set / name, copy / name)
    shutil.copytree(eval_set / "inbox", copy / "inbox")
    warehouse = work / "eval.duckdb"
    env = {**os.environ, "CDP_STATE_DIR": str(work / "state")}
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.run", "--config", str(copy / "business.yml"),
         "--inbox", str(copy / "inbox"), "--warehouse", str(warehouse)],
        cwd=work, env=env, capture_output=True, text=True,
    )
    (work / "eval_run.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise BuildError(f"the evaluation set's pipeline run failed (log: {work / 'eval_run.log'}):\n{done.stderr[-2000:]}")
    return warehouse


def build_demo_warehouse(customers: int, work: Path, seed: int = 7) -> tuple[Path, Path]:
    """Generate demo data and run the demo's daily job against its emulators, as `make demo` does,
    in `work`, in a child process (its Dagster log goes to `work/demo_run.log`, not the screen).
    Returns (warehouse, data folder)."""
    work.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([sys.executable, "-m", "cdp.identity_eval", "demo", "--customers", str(customers),
                           "--seed", str(seed), "--work", str(work)], cwd=work, capture_output=True, text=True)
    (work / "demo_run.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        raise BuildError(f"the demo pipeline failed (log: {work / 'demo_run.log'}):\n{done.stderr[-2000:]}")
    return work / "demo.duckdb", work / "demo"


def _run_demo(customers: int, work: Path, seed: int) -> int:
    from demo.generate import Config, generate
    from demo.pipeline import materialize_all
    from demo.stack import environment, running_stack

    data, warehouse = work / "demo", work / "demo.duckdb"
    generate(Config(customers=customers, seed=seed), data)
    with running_stack(data) as env:
        env = {**env, "CDP_DUCKDB_PATH": str(warehouse), "CDP_STATE_DIR": str(work / "demo_state")}
        with environment(env):
            result = materialize_all(env)
    if not result.success:
        print(f"failed steps: {[e.step_key for e in result.all_events if e.is_failure][:5]}", file=sys.stderr)
        return 1
    return 0


def score_set(warehouse: Path, truth: Path, planted: Path | None = None) -> dict:
    from cdp.identity_quality import measure, measure_naive, planted_breakdown

    out = {"warehouse": str(warehouse), "model": asdict(measure(warehouse, truth)),
           "naive": asdict(measure_naive(warehouse, truth))}
    if planted is not None:
        out["planted"] = [asdict(c) for c in planted_breakdown(warehouse, planted)]
    return out


def add_compare_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--eval-set", type=Path, default=EVAL_SET, help="folder with inbox/, mapping.yml, business.yml, truth.csv, planted.csv")
    ap.add_argument("--eval-warehouse", type=Path, help="score this warehouse (already built from the evaluation set) instead of building one")
    ap.add_argument("--demo-warehouse", type=Path, help=f"an existing demo warehouse (default {DEMO_WAREHOUSE.relative_to(ROOT)} if present)")
    ap.add_argument("--demo-data", type=Path, help=f"the demo data folder it was built from (default {DEMO_DATA.relative_to(ROOT)})")
    ap.add_argument("--demo-customers", type=int, default=1500, help="people in a freshly generated demo (when none exists)")
    ap.add_argument("--fresh-demo", action="store_true", help="generate and run a demo even if data/ holds one")
    ap.add_argument("--no-demo", action="store_true", help="score the evaluation set only")
    ap.add_argument("--work", type=Path, help="keep the built warehouses in this folder (default: a temporary one, removed)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")


def compare_command(args: argparse.Namespace) -> int:
    work_ctx = tempfile.TemporaryDirectory(prefix="identity_eval_") if args.work is None else None
    work = Path(work_ctx.name) if work_ctx else args.work.resolve()
    note = (lambda msg: print(msg, file=sys.stderr)) if args.json else print
    try:
        results: dict = {}
        started = time.perf_counter()
        if args.eval_warehouse:
            eval_wh = args.eval_warehouse
        else:
            note("Building the evaluation set through the pipeline ...")
            eval_wh = build_eval_warehouse(args.eval_set, work)
        results["eval"] = {"set": str(args.eval_set), **score_set(eval_wh, args.eval_set / "truth.csv", args.eval_set / "planted.csv")}
        if not args.no_demo:
            demo_wh, demo_data = args.demo_warehouse, args.demo_data
            if demo_wh is None and not args.fresh_demo and DEMO_WAREHOUSE.exists() and (DEMO_DATA / "ground_truth" / "identity.csv").exists():
                demo_wh, demo_data = DEMO_WAREHOUSE, DEMO_DATA
            if demo_wh is None:
                note(f"Generating and running the demo at {args.demo_customers:,} people ...")
                demo_wh, demo_data = build_demo_warehouse(args.demo_customers, work)
            demo_data = demo_data or DEMO_DATA
            meta = demo_data / "ground_truth" / "meta.json"
            results["demo"] = {"data": str(demo_data), **score_set(demo_wh, demo_data / "ground_truth" / "identity.csv")}
            if meta.exists():
                results["demo"]["customers"] = json.loads(meta.read_text())["customers"]
        results["seconds"] = round(time.perf_counter() - started, 1)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if work_ctx:
            work_ctx.cleanup()
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    else:
        print_comparison(results)
    return 0


def print_comparison(results: dict) -> None:
    from cdp.identity_quality import PlantedCase, print_planted

    sets = [("evaluation set", results["eval"])] + ([("demo", results["demo"])] if "demo" in results else [])
    line = "─" * 78
    print(f"\n{line}\nIdentity resolution: pairwise quality, model and naive rule on the same records\n{line}")
    print(f"{'':<22}" + "".join(f"{('[' + name + ']'):>28}{'':>12}" for name, _ in sets))
    print(f"{'':<22}" + "".join(f"{'model':>14}{'naive rule':>14}{'':>12}" for _ in sets))
    rows = [("records", "records", "{:,}"), ("people (truth)", "people", "{:,}"), ("customers", "customers", "{:,}"),
            ("true pairs", "true_pairs", "{:,}"), ("predicted pairs", "predicted_pairs", "{:,}"),
            ("correct pairs", "correct_pairs", "{:,}"), ("precision", "precision", "{:.4f}"),
            ("recall", "recall", "{:.4f}"), ("F1", "f1", "{:.4f}")]
    for label, key, fmt in rows:
        cells = ""
        for _, s in sets:
            cells += f"{fmt.format(s['model'][key]):>14}{fmt.format(s['naive'][key]):>14}{'':>12}"
        print(f"{label:<22}{cells}")
    for name, s in sets:
        if s["model"]["unmatched_records"]:
            print(f"warning ({name}): {s['model']['unmatched_records']:,} records are in only one of the map and the truth")
    if "customers" in results.get("demo", {}):
        print(f"(demo at {results['demo']['customers']:,} generated people)")
    print()
    print_planted([PlantedCase(**c) for c in results["eval"].get("planted", [])])
    print(f"\n({results['seconds']:.0f}s)")


if __name__ == "__main__":  # the child process of build_demo_warehouse
    _ap = argparse.ArgumentParser(prog="python -m cdp.identity_eval")
    _ap.add_argument("what", choices=["demo"])
    _ap.add_argument("--customers", type=int, required=True)
    _ap.add_argument("--seed", type=int, default=7)
    _ap.add_argument("--work", type=Path, required=True)
    _args = _ap.parse_args()
    sys.exit(_run_demo(_args.customers, _args.work.resolve(), _args.seed))
