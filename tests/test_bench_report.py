"""The benchmark's parts that need no pipeline: the floor's identity rule on hand-written records,
the pandas version agreeing with it, and the report's verdicts and markdown. No timing here."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo.bench import floor, pandas_baseline, report

RECORDS = [("crm", "1"), ("crm", "2"), ("shop", "a"), ("shop", "b"), ("mail", "x"), ("mail", "y"),
           ("crm", "3"), ("crm", "4"), ("crm", "5"), ("crm", "6"), ("crm", "7")]
IDENTIFIERS = [
    ("crm", "1", "phone", "8 (912) 345-67-89"),      # same number as shop:a, typed two ways
    ("shop", "a", "phone", "+79123456789"),
    ("shop", "a", "email", " Anna@Mail.RU "),        # chains shop:a to mail:x by e-mail
    ("mail", "x", "email", "anna@mail.ru"),
    ("crm", "2", "phone", "912 345 67 80"),          # 10 digits -> +7; alone
    ("shop", "b", "email", "not-an-email"),          # not an address: links nothing
    ("mail", "y", "email", "bob@example.com"),
    # a switchboard on five records: more than 4 holders, so it links nobody
    *[("crm", str(i), "phone", "+7 (495) 000-00-00") for i in range(3, 8)],
]


@pytest.fixture()
def con():
    c = duckdb.connect()
    c.execute("create table recs (source_system varchar, source_record_id varchar)")
    c.executemany("insert into recs values (?, ?)", RECORDS)
    c.execute("create table ids (source_system varchar, source_record_id varchar, identifier_type varchar, identifier_raw varchar)")
    c.executemany("insert into ids values (?, ?, ?, ?)", IDENTIFIERS)
    yield c
    c.close()


def components(pairs) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for record, component in pairs:
        groups.setdefault(component, set()).add(record)
    return {frozenset(g) for g in groups.values()}


EXPECTED = {frozenset({"crm:1", "shop:a", "mail:x"}), frozenset({"crm:2"}), frozenset({"shop:b"}),
            frozenset({"mail:y"}), *({frozenset({f"crm:{i}"}) for i in range(3, 8)})}


def test_floor_links_phone_formats_and_emails_but_not_an_overshared_number(con):
    counts = floor.identity(con, "select * from recs", "select * from ids", max_records=4)
    got = components(con.execute("select record_key, component from floor_identity_map").fetchall())
    assert got == EXPECTED
    assert counts["records"] == len(RECORDS) and counts["components"] == len(EXPECTED)


def test_floor_lets_a_shared_number_link_under_the_limit(con):
    floor.identity(con, "select * from recs", "select * from ids", max_records=5)
    got = components(con.execute("select record_key, component from floor_identity_map").fetchall())
    assert frozenset({f"crm:{i}" for i in range(3, 8)}) in got


def test_pandas_gives_the_floors_components(con):
    records = pd.DataFrame(RECORDS, columns=["source_system", "source_record_id"])
    identifiers = pd.DataFrame(IDENTIFIERS, columns=["source_system", "source_record_id", "identifier_type", "identifier_raw"])
    mapping, _ = pandas_baseline.identity(records, identifiers, max_records=4)
    floor.identity(con, "select * from recs", "select * from ids", max_records=4)
    ours = components(con.execute("select record_key, component from floor_identity_map").fetchall())
    assert components(mapping[["record_key", "component"]].itertuples(index=False)) == ours == EXPECTED


def test_rfm_floor_and_pandas_agree(con):
    orders = pd.DataFrame({
        "source_system": ["crm", "shop", "shop", "crm", "shop"],
        "customer_source_system": [None, None, None, None, None],
        "customer_record_id": ["1", "a", None, "2", "b"],
        "customer_phone_raw": [None, None, "8 912 345-67-89", None, None],  # attached by phone to crm:1's person
        "customer_email_raw": [None, None, None, None, None],
        "ordered_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01", "2026-03-01", "2026-03-01"]).date,
        "status_group": ["completed", "completed", "completed", "completed", "cancelled"],
        "net_amount": [100.0, 50.0, 25.0, 10.0, 999.0],
    })
    floor.identity(con, "select * from recs", "select * from ids")
    con.register("orders_df", orders)
    floor.rfm(con, "select * from orders_df")
    sql = {r[0]: r[1:] for r in con.execute(
        "select customer, recency_days, frequency, monetary, r_score, f_score, m_score from floor_rfm").fetchall()}
    assert sql["crm:1"][:2] == (0, 3) and float(sql["crm:1"][2]) == 175.0
    mapping, _ = pandas_baseline.identity(pd.DataFrame(RECORDS, columns=["source_system", "source_record_id"]),
                                          pd.DataFrame(IDENTIFIERS, columns=["source_system", "source_record_id",
                                                                             "identifier_type", "identifier_raw"]))
    pd_rfm = pandas_baseline.rfm(orders, mapping, pd.DataFrame(IDENTIFIERS, columns=[
        "source_system", "source_record_id", "identifier_type", "identifier_raw"]))
    got = {r.customer: (r.recency_days, r.frequency, r.monetary, r.r_score, r.f_score, r.m_score)
           for r in pd_rfm.itertuples()}
    assert {k: (v[0], v[1], float(v[2]), *v[3:]) for k, v in sql.items()} == got


def hand_made_report(**over) -> dict:
    stage = {"stage": "transform", "wall_s": 100.0, "cpu_s": 150.0, "peak_rss_gib": 1.5, "rows": 1000, "rows_per_s": 10}
    r = {
        "scale": "100k", "customers": 100_000, "source_records": 190_000,
        "generate": {**stage, "stage": "generate", "wall_s": 5.0},
        "quality": {"precision": 0.999, "recall": 0.97, "f1": 0.984, "records": 190_000, "customers": 100_500},
        "floor": {"identity": {"seconds": 10.0, "records": 190_000, "components": 99_000}, "rfm": {"seconds": 5.0}},
        "pandas": {"capped": False, "read_seconds": 3.0, "identity": {"seconds": 80.0, "records": 1, "components": 1},
                   "rfm": {"seconds": 20.0}},
        "runs": {
            "full": {"total": {**stage, "stage": "full run", "wall_s": 300.0, "peak_rss_gib": 3.0},
                     "stages": [{**stage, "stage": "extract:crm", "wall_s": 150.0}, stage],
                     "identity": {"seconds": 30.0, "peak_rss_gib": 1.0, "models": 12},
                     "dbt_models": [{"model": "rfm", "seconds": 2.0}, {"model": "fct_orders", "seconds": 3.0}]},
            "change": {"total": {**stage, "wall_s": 50.0}},
            "no_change": {"total": {**stage, "wall_s": 40.0}},
        },
    }
    r.update(over)
    return r


def test_verdicts_from_a_hand_made_report():
    by = {v["target"]: v for v in report.verdicts(hand_made_report())}
    assert by["identity_vs_floor"]["value"] == 3.0 and by["identity_vs_floor"]["verdict"] == "MISS"
    assert by["transform_vs_floor"]["value"] == pytest.approx(6.67) and by["transform_vs_floor"]["verdict"] == "MISS"
    assert by["full_run_s"]["verdict"] == "PASS" and by["change_run_s"]["verdict"] == "PASS"
    assert by["no_change_run_s"]["verdict"] == "MISS"
    assert by["pandas_vs_ours"]["value"] == pytest.approx(100 / 35, abs=0.01) and by["pandas_vs_ours"]["verdict"] == "MISS"
    assert by["identity_recall"]["verdict"] == "MISS" and by["identity_precision"]["verdict"] == "PASS"
    capped = hand_made_report(pandas={"capped": True, "reason": "too big"})
    assert {v["target"]: v for v in report.verdicts(capped)}["pandas_vs_ours"]["verdict"] == "n/a"


def test_markdown_has_each_scale_targets_and_growth(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    small = hand_made_report()
    big = copy.deepcopy(hand_made_report(scale="1M", customers=1_000_000))
    big["runs"]["full"]["total"]["wall_s"] = 3600.0  # 12 × the 100k run
    for r in (small, big):
        r["targets"] = report.verdicts(r)
        (folder / f"{r['scale']}.json").write_text(json.dumps(r), encoding="utf-8")
    text = report.render(folder, tmp_path / "benchmarks.md", plots=False)
    assert text == (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    assert "## 100k: 100,000 people" in text and "## 1M: 1,000,000 people" in text
    assert text.index("## 100k") < text.index("## 1M")
    assert "| identity step / plain-DuckDB floor identity | <= 2 × | 3.00 | **MISS** |" in text
    assert "| full run: extract over HTTP, transform, activation | <= 600 s | 300.00 | **PASS** |" in text
    assert "Growth: 1 M took 12.0 × the 100k run (target ≤ 11 ×): **MISS**." in text
    assert "| extract:crm | 150.0 |" in text


def test_cpu_of_other_processes_is_the_machines_busy_time_less_ours_and_the_emulators():
    from demo.bench.sampler import Sample, TreeSampler

    sampler = TreeSampler()
    # t, rss main/children/outside, cpu main/children/outside, machine busy (all cumulative)
    sampler.samples = [Sample(100.0, 1, 1, 1, 0.0, 0.0, 0.0, 0.0),
                       Sample(110.0, 1, 1, 1, 6.0, 3.0, 2.0, 19.0),
                       Sample(120.0, 1, 1, 1, 12.0, 6.0, 4.0, 22.0)]
    busy_neighbour = sampler.window(100.0, 109.9)  # from the sample at or before the start to the one after the end
    assert busy_neighbour.cpu_pipeline == 9.0 and busy_neighbour.cpu_outside == 2.0
    assert busy_neighbour.cpu_others == pytest.approx(8.0)  # 19 busy - 9 ours - 2 emulators
    # The machine's counter and ours are sampled a moment apart: never below zero.
    assert sampler.window(110.1, 120.0).cpu_others == 0.0


def test_a_benchmark_that_shared_the_machine_says_so():
    quiet, shared = hand_made_report(), hand_made_report()
    for r, others in ((quiet, 1.0), (shared, 60.0)):
        r["machine"] = {"cpus": 2}
        for run in r["runs"].values():
            run["total"]["cpu_others_s"] = others
    quiet_text = "\n".join(report.render_scale(quiet))
    shared_text = "\n".join(report.render_scale(shared))
    assert "a quiet machine" in quiet_text and "not quiet" not in quiet_text
    assert "**the machine was not quiet, and these times are inflated**" in shared_text
    assert "not quiet" not in "\n".join(report.render_scale(hand_made_report()))  # older reports: nothing said


def test_the_report_names_code_that_was_not_committed_or_changed_mid_run(tmp_path):
    """A benchmark measures the working tree: figures taken with uncommitted edits, or with a model
    edited while the run went on, must not pass for the commit's."""
    import subprocess

    from demo.bench.__main__ import code_measured, commit, uncommitted

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "model.sql").write_text("select 1\n")
    git("add", "model.sql")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "first")
    head = commit(tmp_path)
    assert len(head) >= 7

    clean = uncommitted(tmp_path)
    assert clean is None
    assert code_measured(head, clean, uncommitted(tmp_path)) == head

    (tmp_path / "model.sql").write_text("select 2\n")
    edited = uncommitted(tmp_path)
    assert edited is not None
    assert code_measured(head, clean, edited) == f"{head}, code changed during the run"
    assert code_measured(head, edited, uncommitted(tmp_path)) == f"{head} with uncommitted changes"

    (tmp_path / "model.sql").write_text("select 3\n")
    assert uncommitted(tmp_path) not in (None, edited)


def test_the_critical_path_is_the_longest_chain_of_waiting_nodes_and_is_reported(tmp_path):
    """a (10 s) → b (2 s) → a test on b (1 s); c (8 s) on the other thread; d (3.5 s) waits for a
    and c. The chain is a → d (13.5 s), not a → b → its test (13 s) nor c → d (11.5 s)."""
    from demo.bench.stages import critical_path

    def node(uid, start, took, deps=()):
        at = lambda t: f"2026-12-06T10:00:{t:06.3f}Z"  # noqa: E731
        return ({"unique_id": uid, "timing": [{"name": "compile", "started_at": at(start), "completed_at": at(start)},
                                              {"name": "execute", "started_at": at(start), "completed_at": at(start + took)}]},
                (uid, {"depends_on": {"nodes": list(deps)}}))

    made = [node("model.p.a", 0, 10), node("model.p.c", 0, 8), node("model.p.b", 10, 2, ["model.p.a"]),
            node("test.p.not_null_b.x1", 12, 1, ["model.p.b"]), node("model.p.d", 10, 3.5, ["model.p.a", "model.p.c"])]
    (tmp_path / "run_results.json").write_text(json.dumps({"results": [r for r, _ in made]}))
    assert critical_path(tmp_path) is None, "no manifest beside the results: no graph"
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": dict(n for _, n in made)}))
    path = critical_path(tmp_path)
    assert [n["node"] for n in path["path"]] == ["a", "d"]
    assert path["path_s"] == 13.5 and path["span_s"] == 13.5 and path["node_s"] == 24.5

    r = hand_made_report()
    r["runs"]["change"]["dbt_critical_path"] = path
    text = "\n".join(report.render_scale(r))
    assert "| change | 13.5 | 24.5 | 13.5 | a 10.0 → d 3.5 |" in text


def test_the_runs_memory_is_its_own_processes_not_the_benchmarks():
    """The daily job runs in a process of its own (demo/bench/job.py), as a deployment runs it: its
    memory and its dbt child's are the run's; what the benchmark's own process holds (the generated
    data) is reported beside, never added to the run."""
    import subprocess
    import sys
    import time

    from demo.bench.sampler import TreeSampler

    mib = 2**20
    held = b"\x01" * (600 * mib)  # the benchmark's leftovers
    child = "import time; b = b'\\x01' * ({n} * 2**20); time.sleep({s})"
    run = (f"import subprocess, sys, time; b = b'\\x01' * (200 * 2**20); "
           f"subprocess.run([sys.executable, '-c', {child.format(n=100, s=0.6)!r}]); time.sleep(0.3)")
    with TreeSampler(interval=0.05) as sampler:
        started = time.time()
        proc = sampler.spawn_run([sys.executable, "-c", run], stdout=subprocess.DEVNULL)
        assert proc.wait(timeout=60) == 0
        sampler.sample()
        window = sampler.window(started, time.time())
    assert len(held) == 600 * mib
    assert window.peak_rss_main >= 600 * mib
    assert window.peak_rss_children >= 100 * mib  # the run's own child (dbt in a real run)
    assert 300 * mib <= window.peak_rss_job < 600 * mib  # both of the run's processes, not the benchmark
    assert window.peak_rss_pipeline >= 900 * mib  # everything ours, as before


def test_the_benchmarks_children_import_its_own_checkout_first(tmp_path):
    """A benchmark run from a second worktree that shares the virtual environment must measure its
    own `cdp/` (the editable install points at the checkout that installed it)."""
    import subprocess
    import sys

    from demo.bench.__main__ import ROOT, own_code_first

    environ = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    own_code_first(environ)
    assert environ["PYTHONPATH"].split(os.pathsep) == [str(ROOT), str(tmp_path)]
    found = subprocess.run([sys.executable, "-c", "import cdp; print(cdp.__file__)"], env={**os.environ, **environ},
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(found).resolve() == (ROOT / "cdp" / "__init__.py").resolve()


def test_the_profile_reruns_every_activation_asset_or_one_ingest_step():
    """`--profile` on activation reran nothing: it asked each definition for its one key, and the
    dbt step's definition has many (Dagster refuses). Selection by each definition's keys."""
    from demo.bench.profile import stage_assets
    from orchestration.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    activation = stage_assets(graph, "activation")
    assert activation and all(k.path[0] == "activation" for a in activation for k in a.keys)
    assert not any(a.op.name == "dbt_models" for a in activation)
    extract = stage_assets(graph, "extract:retailcrm")
    assert [a.op.name for a in extract] == ["retailcrm_ingest"]
