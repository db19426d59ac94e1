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
        # One campaign sent the day after the send to 1,000 treated members of seg_planted (400
        # open, 100 click, 10 unsubscribe) and to 1,000 people outside every segment (200 open).
        con.execute("""create table marts.fct_email_events as
            with recipients as (
                select customer_id, row_number() over (order by customer_id) as n, customer_id like 'seg_planted:t%' as in_segment
                from (select customer_id from assignments where segment = 'seg_planted' and not is_control order by customer_id limit 1000)
                union all
                select 'outside' || i, i, false from range(1, 1001) t(i)
            ),
            typed as (
                select r.*, e.event_type from recipients r,
                       (values ('sent'), ('delivered'), ('opened'), ('clicked'), ('unsubscribed')) e(event_type)
                where e.event_type in ('sent', 'delivered')
                   or (e.event_type = 'opened' and n <= case when in_segment then 400 else 200 end)
                   or (e.event_type = 'clicked' and in_segment and n <= 100)
                   or (e.event_type = 'unsubscribed' and in_segment and n <= 10)
            )
            select md5(customer_id || event_type) as email_event_id, 'unisender' as platform, 'unisender:1' as campaign_key,
                   '1' as campaign_id, 'Весна' as campaign_name, timestamp '2026-03-03 09:00' as campaign_sent_at,
                   customer_id || '@example.ru' as email, customer_id, event_type, timestamp '2026-03-03 10:00' as event_at
            from typed""")
        con.execute("""create table marts.customer_360 as
            select customer_id, case when customer_id like '%t1%' then 3 else 1 end as orders_count,
                   cast(1000 as decimal(18, 2)) as revenue, cast(null as decimal(18, 2)) as predicted_revenue
            from (select customer_id from assignments union all select 'outside' || i from range(1, 1001) t(i))""")
    config = work / "business.yml"
    config.write_text("systems: [retailcrm]\nrfm:\n  as_of: 2026-06-30\nlift:\n  window_days: 30\n  min_group_size: 100\n",
                      encoding="utf-8")
    env = {**os.environ, "CDP_BUSINESS_CONFIG": str(config), "CDP_DUCKDB_PATH": str(warehouse)}
    done = subprocess.run(
        # campaign_metrics takes its 'all' audience from campaign_performance.
        [sys.executable, "-m", "cdp.dbt_cli", "build", "--select", "campaign_lift", "campaign_performance", "campaign_metrics",
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=env, capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        lift = con.execute("select * from marts.campaign_lift").df().set_index("segment")
        lift.attrs["metrics"] = con.execute("select * from marts.campaign_metrics").df().set_index("audience")
    return lift


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


def test_campaign_metrics_per_segment_and_for_all_recipients_in_one_place(lift):
    metrics = lift.attrs["metrics"]
    assert set(metrics.index) == {"all", "seg_planted"}  # the campaign reached no other segment
    segment, everyone = metrics.loc["seg_planted"], metrics.loc["all"]
    assert (segment.delivered, segment.opened, segment.clicked, segment.unsubscribed) == (1000, 400, 100, 10)
    assert (segment.open_rate, segment.ctr, segment.unsubscribe_rate) == (0.4, 0.1, 0.01)
    assert (everyone.delivered, everyone.opened) == (2000, 600)
    assert everyone.open_rate == pytest.approx(0.3)
    # Of the segment's recipients, those whose id has "t1" in it bought three times.
    ids = [f"seg_planted:t{i}" for i in range(6000)]
    reached = sorted(ids)[:1000]
    assert segment.repeat_purchase_share == pytest.approx(sum("t1" in c for c in reached) / 1000)
    assert float(segment.mean_ltv) == 1000.0
