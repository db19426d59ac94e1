"""The measured runs: the daily job as it runs in production (one run in a process of its own, as
Dagster's run launcher starts it, steps one after another in it), cut into stages at its own step
boundaries. The job's process reports each step start and end on a pipe (demo/bench/job.py) and
each report takes a sample of the process tree at once, so a stage's CPU and peak memory are those
between its boundaries: extract per source system (its ingest step), transform (the dbt step),
activation (everything after: the consent-gate checks and the syncs).

Memory is the run's processes': the job's own (after extract it keeps what Python allocated, so a
later stage's peak includes it) and dbt's, which is also reported apart (`peak_rss_children`). This
process, which generated the data, is not the run: its size is reported beside (`peak_rss_bench_gib`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb

from demo.bench.sampler import TreeSampler, Window

GIB = 1024**3
ROOT = Path(__file__).resolve().parents[2]
DBT_TARGET = ROOT / "dbt_project" / "target"
IDENTITY_MODELS_DIR = ROOT / "dbt_project" / "models" / "intermediate" / "identity"
NOT_IDENTITY = {"int_orders_unioned"}  # lives beside the identity models, feeds the marts


def figures(name: str, w: Window, rows: int | None = None, job: bool = False) -> dict:
    """`job`: a stage of the daily job, whose figures are the run's processes, not this one."""
    return {
        "stage": name, "wall_s": round(w.wall, 2), "cpu_s": round(w.cpu_job if job else w.cpu_pipeline, 2),
        "cpu_children_s": round(w.cpu_children, 2), "cpu_emulators_s": round(w.cpu_outside, 2),
        "cpu_others_s": round(w.cpu_others, 2),
        "peak_rss_gib": round((w.peak_rss_job if job else w.peak_rss_pipeline) / GIB, 3),
        "peak_rss_children_gib": round(w.peak_rss_children / GIB, 3),
        "peak_rss_emulators_gib": round(w.peak_rss_outside / GIB, 3),
        **({"peak_rss_bench_gib": round(w.peak_rss_main / GIB, 3)} if job else {}),
        "rows": rows, "rows_per_s": round(rows / w.wall) if rows and w.wall > 0 else None,
    }


def stage_of(step: str) -> str:
    if step.endswith("_ingest"):
        return f"extract:{step.removesuffix('_ingest')}"
    return "transform" if step == "dbt_models" else "activation"


def raw_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("""select table_schema, table_name from information_schema.tables
                                where starts_with(table_schema, 'raw_') and not starts_with(table_name, '_dlt')
                                and table_type = 'BASE TABLE'""").fetchall()
        return sum(con.execute(f'select count(*) from "{s}"."{t}"').fetchall()[0][0] for s, t in tables)


def run_job(env: dict[str, str], sampler: TreeSampler, name: str) -> dict:
    """The daily job once in a process of its own, its stages measured; raises if a step fails."""
    warehouse = Path(env["CDP_DUCKDB_PATH"])
    out = warehouse.parent / f"job-{time.time_ns()}.json"
    marks: list[tuple[float, str, str]] = []
    read_end, write_end = os.pipe()
    started = time.time()
    sampler.sample()
    proc = sampler.spawn_run([sys.executable, "-m", "demo.bench.job", "--json", str(out), "--marks-fd", str(write_end)],
                             env={**os.environ, **env}, cwd=ROOT, pass_fds=(write_end,))
    os.close(write_end)
    try:
        with os.fdopen(read_end, encoding="utf-8") as reported:
            for line in reported:  # a step started or ended: sample now, so its window starts or ends here
                kind, step = json.loads(line)
                sampler.sample()
                marks.append((time.time(), kind, step))
        code = proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
        sampler.sample()
        sampler.run_pid = None
    ended = time.time()
    if code or not out.exists():
        raise RuntimeError(f"{name}: the daily job's process ended with code {code}")
    result = json.loads(out.read_text())
    out.unlink()
    if result["failed"]:
        raise RuntimeError(f"{name}: the daily job failed in {result['failed']}")
    starts = {step: t for t, kind, step in marks if kind == "STEP_START"}
    ends = {step: t for t, kind, step in marks if kind != "STEP_START"}
    spans: dict[str, list[float]] = {}
    for step, t0 in starts.items():
        span = spans.setdefault(stage_of(step), [t0, ends.get(step, ended)])
        span[0], span[1] = min(span[0], t0), max(span[1], ends.get(step, ended))
    if marks:  # launching the run's process (imports, the definitions, Dagster's run setup) to its first step
        spans["start"] = [started, marks[0][0]]
    loaded = result["rows_loaded"]
    rows = {stage: sum(n for step, n in loaded.items() if stage_of(step) == stage) for stage in spans}
    rows["transform"] = raw_rows(warehouse)
    order = sorted(spans, key=lambda s: spans[s][0])
    stages = [figures(s, sampler.window(*spans[s]), rows.get(s), job=True) for s in order]
    total = figures(name, sampler.window(started, ended), sum(r for s, r in rows.items() if s.startswith("extract:")),
                    job=True)
    target = _dbt_target(started)
    models = dbt_models(target)
    return {"total": total, "stages": stages, "dbt_models": models,
            "identity": identity_figures(models, sampler), "dbt_critical_path": critical_path(target)}


def _dbt_target(since: float) -> Path | None:
    """The target folder of the dbt step that ran after `since` (dagster-dbt gives each invocation
    its own)."""
    found = [p for p in DBT_TARGET.rglob("run_results.json") if p.stat().st_mtime >= since]
    return max(found, key=lambda p: p.stat().st_mtime).parent if found else None


def _at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def critical_path(target: Path | None) -> dict | None:
    """The longest chain of nodes (models and tests) each waiting for the one before, by their own
    times in run_results.json, with the graph from the manifest beside it. When it is most of the
    step's span, the step waits on that chain and not on the work in all: a model on it shortens
    the run by what it saves, one off it by about half of that on two threads."""
    if target is None or not (target / "manifest.json").exists():
        return None
    results = json.loads((target / "run_results.json").read_text())["results"]
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    spans = {}
    for r in results:
        timing = {t["name"]: t for t in r.get("timing", []) if t.get("started_at")}
        if "execute" in timing:
            spans[r["unique_id"]] = (_at(timing.get("compile", timing["execute"])["started_at"]),
                                     _at(timing["execute"]["completed_at"]))
    if not spans:
        return None
    took = {uid: end - start for uid, (start, end) in spans.items()}
    longest: dict[str, tuple[float, list[str]]] = {}
    for uid in sorted(took, key=lambda u: spans[u][0]):  # a node starts after everything it waits for
        before = [longest[p] for p in (nodes.get(uid, {}).get("depends_on") or {}).get("nodes", []) if p in longest]
        length, chain = max(before, default=(0.0, []), key=lambda x: x[0])
        longest[uid] = (length + took[uid], [*chain, uid])
    length, chain = max(longest.values(), key=lambda x: x[0])
    return {"span_s": round(max(e for _, e in spans.values()) - min(s for s, _ in spans.values()), 2),
            "node_s": round(sum(took.values()), 2), "path_s": round(length, 2),
            "path": [{"node": uid.split(".")[2], "seconds": round(took[uid], 2)} for uid in chain]}


def dbt_models(target: Path | None) -> list[dict]:
    """Per-model times of a dbt step (the run_results.json in its target folder)."""
    if target is None:
        return []
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = []
    for r in results:
        if not r["unique_id"].startswith("model."):
            continue
        execute = next((t for t in r.get("timing", []) if t["name"] == "execute"), None)
        span = [_at(execute[k]) for k in ("started_at", "completed_at")] if execute and execute.get("started_at") else None
        models.append({"model": r["unique_id"].split(".")[-1], "seconds": round(r["execution_time"], 2),
                       "status": r["status"], "rows": (r.get("adapter_response") or {}).get("rows_affected"),
                       "span": span})
    return sorted(models, key=lambda m: -m["seconds"])


def identity_models() -> set[str]:
    return {p.stem for p in IDENTITY_MODELS_DIR.iterdir() if p.suffix in (".sql", ".py")} - NOT_IDENTITY | {
        "customer_identity_map"}


def identity_figures(models: list[dict], sampler: TreeSampler) -> dict:
    """The identity models' summed time (more than their wall time when dbt runs two at once: the
    harder figure) and the dbt process's peak memory while any of them ran."""
    mine = [m for m in models if m["model"] in identity_models()]
    peak = max((sampler.window(*m["span"]).peak_rss_children for m in mine if m["span"]), default=0)
    return {"seconds": round(sum(m["seconds"] for m in mine), 2), "models": len(mine),
            "peak_rss_gib": round(peak / GIB, 3)}


def run_child(module: str, args: list[str], sampler: TreeSampler, timeout: float | None = None) -> dict:
    """`python -m module args --json F` measured as a child; its JSON plus wall, CPU and peak RSS.
    A child past `timeout` seconds is killed and reported as capped."""
    out = Path(args[args.index("--json") + 1])
    started = time.time()
    sampler.sample()
    try:
        done = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        sampler.sample()
        return {"capped": True, "reason": f"stopped after {timeout:.0f} s (--pandas-timeout)",
                **figures(module, sampler.window(started, time.time()))}
    sampler.sample()
    w = sampler.window(started, time.time())
    if done.returncode:
        raise RuntimeError(f"{module} failed: {done.stderr[-2000:]}")
    result = json.loads(out.read_text())
    return {**result, "wall_s": round(w.wall, 2), "cpu_s": round(w.cpu_children, 2),
            "peak_rss_gib": round(w.peak_rss_children / GIB, 3)}
