"""python -m demo.bench --scale 100k [--out data/bench] [--docs docs] [--profile] [--strict]"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from demo.bench.report import SCALES, render, verdicts

ROOT = Path(__file__).resolve().parents[2]


def machine() -> dict:
    import psutil

    return {"cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "load_at_start": [round(x, 2) for x in os.getloadavg()]}


def commit(root: Path = ROOT) -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def uncommitted(root: Path = ROOT) -> str | None:
    """A digest of the checkout's uncommitted changes, None when there are none (or no checkout).

    The benchmark runs the code in the working tree, and dbt reads a model's file only when it
    builds it: a model edited while a 1 M run is under way lands in that run's later builds (and,
    being a changed model, makes the next build rewrite every union slice)."""
    try:
        status = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, check=True).stdout
        if not status.strip():
            return None
        diff = subprocess.run(["git", "diff", "HEAD", "--binary"], cwd=root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return hashlib.sha256(status + diff).hexdigest()[:12]


def code_measured(commit_id: str, before: str | None, after: str | None) -> str:
    """What the figures are of: the commit, or the commit and changes not in it."""
    if before is None and after is None:
        return commit_id
    if before == after:
        return f"{commit_id} with uncommitted changes"
    return f"{commit_id}, code changed during the run"


def own_code_first(environ: dict[str, str] | os._Environ = os.environ) -> None:
    """Put this checkout first on the children's PYTHONPATH. The benchmark measures the code of its
    own checkout, but its children (the job's process, dbt through the `cdp-dbt` script, the value
    fit's process) find `cdp` through the virtual environment's editable install, which points at
    whichever checkout installed it: a benchmark run from a second worktree sharing that
    environment would measure the other checkout's `cdp/` and dbt project."""
    others = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT)]
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *others])


def bench(scale: str, out: Path, pandas_timeout: float, pandas_max_rows: int | None, profile: bool,
          docs: Path) -> dict:
    from cdp.identity_quality import measure
    from demo.bench.changes import change_records
    from demo.bench.sampler import TreeSampler
    from demo.bench.stages import figures, run_child, run_job
    from demo.generate import Config, generate
    from demo.stack import environment, running_stack

    customers = SCALES[scale]
    own_code_first()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    def keep(report: dict) -> None:
        """The figures so far, in case a later run fails or is stopped (a 1 M benchmark is long)."""
        (out / "partial.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")

    data, warehouse = out / "data", (out / "warehouse.duckdb").resolve()
    tree_at_start = uncommitted()
    report: dict = {"scale": scale, "customers": customers, "commit": commit(), "machine": machine(),
                    "measured_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    with TreeSampler() as sampler:
        started = time.time()
        sampler.sample()
        meta = generate(Config(customers=customers), data)
        sampler.sample()
        report["source_rows"] = meta["rows"]
        report["generate"] = figures("generate", sampler.window(started, time.time()), sum(meta["rows"].values()))
        with running_stack(data, rate_limit=100_000, start_timeout=900) as env:
            env = {**env, "CDP_DUCKDB_PATH": str(warehouse)}
            with environment(env):
                runs = report["runs"] = {"full": run_job(env, sampler, "full run")}
                keep(report)
                quality = measure(warehouse, data / "ground_truth" / "identity.csv")
                report["quality"] = {"precision": quality.precision, "recall": quality.recall, "f1": quality.f1,
                                     "records": quality.records, "customers": quality.customers}
                report["source_records"] = quality.records
                report["floor"] = run_child("demo.bench.floor", ["--warehouse", str(warehouse), "--json",
                                                                 str(out / "floor.json")], sampler)
                pandas_args = ["--warehouse", str(warehouse), "--json", str(out / "pandas.json")]
                if pandas_max_rows:
                    pandas_args += ["--max-rows", str(pandas_max_rows)]
                report["pandas"] = run_child("demo.bench.pandas_baseline", pandas_args, sampler, timeout=pandas_timeout)
                keep(report)
                report["changes"] = change_records(env, warehouse)
                runs["change"] = run_job(env, sampler, "~1 % changed")
                keep(report)
                # The change run's syncs change the e-mail platforms' lists, which are sources too
                # (Unisender's list ids, Sendsay's groups): the next run reads that echo as new input
                # and builds, as it would on a real account. The run after it has nothing new.
                runs["after_own_syncs"] = run_job(env, sampler, "echo of our own syncs")
                keep(report)
                runs["no_change"] = run_job(env, sampler, "nothing changed")
                report["commit"] = code_measured(report["commit"], tree_at_start, uncommitted())
                report["targets"] = verdicts(report)
                if profile and any(v["verdict"] == "MISS" for v in report["targets"]):
                    from demo.bench.profile import profile_stage

                    slowest = max(runs["full"]["stages"], key=lambda s: s["wall_s"])["stage"]
                    file = docs / "benchmarks" / f"profile-{scale}-{slowest.replace(':', '-')}.txt"
                    try:
                        profile_stage(slowest, warehouse, out / "profile", file)
                        report["profile"] = {"stage": slowest, "file": file.relative_to(docs.parent).as_posix()
                                             if file.is_relative_to(docs.parent) else str(file)}
                    except Exception as exc:  # the figures matter more than the profile
                        report["profile"] = {"stage": slowest, "file": f"failed: {type(exc).__name__}: {exc}"}
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo.bench", description=__doc__)
    ap.add_argument("--scale", choices=list(SCALES), default="100k")
    ap.add_argument("--out", type=Path, default=ROOT / "data" / "bench", help="work folder (data, warehouse)")
    ap.add_argument("--docs", type=Path, default=ROOT / "docs", help="benchmarks.md and benchmarks/<scale>.json go here")
    ap.add_argument("--pandas-timeout", type=float, default=1800, help="seconds before the pandas version is stopped")
    ap.add_argument("--pandas-max-rows", type=int, default=None, help="skip pandas above this many identifier rows")
    ap.add_argument("--profile", action="store_true", help="on a missed target, pyinstrument over the slowest stage")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--render-only", action="store_true", help="rebuild benchmarks.md and the plots from the JSONs")
    args = ap.parse_args(argv)
    folder = args.docs / "benchmarks"
    folder.mkdir(parents=True, exist_ok=True)
    if not args.render_only:
        report = bench(args.scale, args.out / args.scale, args.pandas_timeout, args.pandas_max_rows, args.profile, args.docs)
        (folder / f"{args.scale}.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        for v in report["targets"]:
            print(f"{v['verdict']:4}  {v['target']}: {v['value']} (target {v['limit']})")
        print(f"code measured: {report['commit']}")
    render(folder, args.docs / "benchmarks.md")
    print(f"wrote {args.docs / 'benchmarks.md'}")
    if args.render_only:
        return 0
    return 1 if args.strict and any(v["verdict"] == "MISS" for v in report["targets"]) else 0


if __name__ == "__main__":
    sys.exit(main())
