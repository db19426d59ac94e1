"""Campaign lift (marts.campaign_lift) on a small warehouse with a known answer, and the control
group's hash (macros/activation/control_group.sql).

The warehouse holds what the lift mart reads: activation.segment_assignments and
activation.sync_log as the activation engine writes them, and marts.fct_orders. Three sends:
one with an uplift planted (treated convert at 15 %, control at 10 %, same order values), one with
none (both at 10 %), and one too small to judge. Orders outside the window are planted too, and
must not count. Only campaign_lift is built, by the same `python -m cdp.dbt_cli` the pipeline uses.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNED_AT = datetime(2026, 3, 2, 9, 0)  # UTC; 12:00 in Moscow
MEAN_ORDER = 2000.0
PLANTED = {"seg_planted": (0.15, 0.10), "seg_none": (0.10, 0.10), "seg_tiny": (0.5, 0.1)}
SIZES = {"seg_planted": (6000, 6000), "seg_none": (6000, 6000), "seg_tiny": (40, 5)}


def _plant(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    assignments, orders, sent = [], [], []
    for segment, (treated_rate, control_rate) in PLANTED.items():
        for is_control, (n, rate) in ((False, (SIZES[segment][0], treated_rate)), (True, (SIZES[segment][1], control_rate))):
            ids = [f"{segment}:{'c' if is_control else 't'}{i}" for i in range(n)]
            assignments += [("run-1", segment, cid, is_control, ASSIGNED_AT) for cid in ids]
            if not is_control:
                sent += [("run-1", "unisender", segment, "list", f"{cid}@example.ru", cid, "sent", "sent", "email",
                          ASSIGNED_AT + timedelta(minutes=5)) for cid in ids]
            buys = rng.random(n) < rate
            for cid, buy in zip(ids, buys):
                if buy:  # one order within the window, at a random day
                    day = ASSIGNED_AT + timedelta(days=int(rng.integers(0, 29)), hours=2)
                    orders.append((cid, day, round(float(rng.gamma(2.0, MEAN_ORDER / 2.0)), 2)))
            # Outside the window: before the send and after it ended; never counted.
            for cid in ids[:50]:
                orders.append((cid, ASSIGNED_AT - timedelta(days=3), 50_000.0))
                orders.append((cid, ASSIGNED_AT + timedelta(days=45), 50_000.0))
    a = pd.DataFrame(assignments, columns=["run_id", "segment", "customer_id", "is_control", "assigned_at"])
    o = pd.DataFrame(orders, columns=["customer_id", "ordered_at", "net_revenue"])
    s = pd.DataFrame(sent, columns=["run_id", "destination", "segment", "target", "identifier", "customer_id",
                                    "action", "status", "channel", "logged_at"])
    return a, o, s


@pytest.fixture(scope="module")
def lift(tmp_path_factory) -> pd.DataFrame:
    work = tmp_path_factory.mktemp("lift")
    warehouse = work / "warehouse.duckdb"
    assignments, orders, sent = _plant(np.random.default_rng(20261202))
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema activation; create schema marts")
        con.execute("create table activation.segment_assignments as select run_id, segment, customer_id, is_control, "
                    "cast(assigned_at as timestamp) as assigned_at from assignments")
        con.execute("create table activation.sync_log as select *, null::varchar as consent_event_id from sent")
        con.execute("""create table marts.fct_orders as
            select 'o' || row_number() over () as order_id, customer_id, cast(ordered_at as timestamp) as ordered_at,
                   cast(timezone('Europe/Moscow', timezone('UTC', cast(ordered_at as timestamp))) as date) as ordered_date,
                   true as is_completed, cast(net_revenue as decimal(18, 2)) as net_revenue
            from orders""")
    config = work / "business.yml"
    config.write_text("systems: [retailcrm]\nrfm:\n  as_of: 2026-06-30\nlift:\n  window_days: 30\n  min_group_size: 100\n",
                      encoding="utf-8")
    env = {**os.environ, "CDP_BUSINESS_CONFIG": str(config), "CDP_DUCKDB_PATH": str(warehouse)}
    done = subprocess.run(
        [sys.executable, "-m", "cdp.dbt_cli", "build", "--select", "campaign_lift", "--target-path", str(work / "target"),
         "--log-path", str(work / "logs")],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("select * from marts.campaign_lift").df().set_index("segment")


def test_a_planted_uplift_is_found_with_intervals_that_cover_it(lift):
    row = lift.loc["seg_planted"]
    treated_rate, control_rate = PLANTED["seg_planted"]
    planted_conversion = treated_rate - control_rate
    planted_revenue = planted_conversion * MEAN_ORDER
    assert row.conversion_lift_lower < planted_conversion < row.conversion_lift_upper
    assert row.conversion_lift_lower > 0
    assert row.revenue_lift_lower < planted_revenue < row.revenue_lift_upper
    assert row.revenue_lift_lower > 0
    assert row.verdict.startswith("lift:"), row.verdict
    assert row.incremental_revenue == pytest.approx(row.revenue_lift_per_person * row.treated)
    assert row.treated_synced == SIZES["seg_planted"][0] and row.control_synced == 0


def test_no_uplift_is_found_where_none_was_planted(lift):
    row = lift.loc["seg_none"]
    assert row.conversion_lift_lower < 0 < row.conversion_lift_upper
    assert row.revenue_lift_lower < 0 < row.revenue_lift_upper
    assert row.verdict.startswith("no measurable difference"), row.verdict


def test_orders_outside_the_window_do_not_count(lift):
    # 50 members of each group also bought for 50,000 three days before and 45 days after the send;
    # counted, they would move revenue per person by hundreds.
    for segment in ("seg_planted", "seg_none"):
        row = lift.loc[segment]
        assert row.treated_revenue_per_person < 0.2 * MEAN_ORDER * 1.5
        assert row.control_revenue_per_person < 0.2 * MEAN_ORDER * 1.5


def test_groups_too_small_say_so(lift):
    row = lift.loc["seg_tiny"]
    assert row.control == SIZES["seg_tiny"][1]
    assert row.verdict.startswith("too small to tell"), row.verdict


def _in_control_sql(segment: str, share: float) -> str:
    source = (ROOT / "dbt_project" / "macros" / "activation" / "control_group.sql").read_text(encoding="utf-8")
    macro = jinja2.Environment().from_string(source).module.in_control_group
    return str(macro("customer_id", segment, share))


def test_the_control_group_is_stable_and_about_the_configured_share():
    ids = pd.DataFrame({"customer_id": [f"cus_{i:016x}" for i in range(200_000)]})
    con = duckdb.connect()
    con.register("ids", ids)
    flags = lambda segment, table="ids": dict(con.execute(  # noqa: E731
        f"select customer_id, {_in_control_sql(segment, 0.1)} from {table}").fetchall())
    first = flags("seg_reactivation")
    share = sum(first.values()) / len(first)
    assert 0.097 < share < 0.103  # 0.1 ± 4.5 standard errors at 200,000
    # The flag depends only on the person and the segment: a later run with a different
    # audience (half of it gone, new people added) keeps everyone's group.
    con.register("later", pd.concat([ids.iloc[::2], pd.DataFrame({"customer_id": [f"new_{i}" for i in range(50_000)]})]))
    later = flags("seg_reactivation", "later")
    assert all(later[cid] == first[cid] for cid in ids["customer_id"].iloc[::2])
    # Independent between segments: being held back from one says nothing about another.
    other = flags("seg_welcome")
    both = sum(first[c] and other[c] for c in first) / len(first)
    assert 0.008 < both < 0.012
