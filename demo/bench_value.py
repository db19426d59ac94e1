"""Benchmark of the predicted-value models at scale: summaries (SQL), fit and scoring (pymc-marketing).

    python -m demo.bench_value --customers 1000000          # ~5 M orders

Writes a warehouse whose marts.fct_orders is a synthetic purchase history drawn from the BG/NBD
and Gamma-Gamma processes themselves (known parameters, so the fit can be checked too), then builds
the value models with the same `python -m cdp.dbt_cli` a run uses and reports each model's time from
dbt's run_results.json, the parameters recovered, and the target: fit + scoring within 60 s at
1 M customers on the 2-core reference machine. Exit code 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

AS_OF = np.datetime64("2026-06-30")
TRUE = {"r": 1.0, "alpha": 10.0, "a": 0.7, "b": 3.5, "p": 6.0, "q": 4.0, "v": 1500.0}
MODELS = ["int_purchase_summaries", "int_value_models_fitted", "int_customer_values_scored", "customer_value",
          "value_model_runs", "value_holdout_check"]
FIT_AND_SCORE = ("int_value_models_fitted", "int_customer_values_scored")
TARGET_SECONDS_PER_1M = 60.0


def synthetic_orders(customers: int, seed: int = 1) -> pa.Table:
    """Each customer's purchases over up to three years: Poisson purchases at a Gamma(r, alpha) rate
    (per week), dropping out after each with a Beta(a, b) probability; values Gamma(p, nu) with
    nu ~ Gamma(q, v). Vectorised over customers, one step per purchase number."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers)
    dropout = rng.beta(TRUE["a"], TRUE["b"], customers)
    nu = rng.gamma(TRUE["q"], 1 / TRUE["v"], customers)  # each customer's spend rate
    first_week = rng.uniform(0, 156, customers)  # weeks before the as-of date
    ids, weeks = [np.arange(customers)], [first_week]
    now, alive = first_week.copy(), np.ones(customers, bool)
    for _ in range(200):
        alive &= rng.random(customers) >= dropout
        now = now - rng.exponential(1 / np.maximum(rate, 1e-9))
        alive &= now > 0
        if not alive.any():
            break
        ids.append(np.flatnonzero(alive))
        weeks.append(now[alive])
    customer = np.concatenate(ids)
    week = np.concatenate(weeks)
    value = rng.gamma(TRUE["p"], 1 / nu[customer])  # mean p * v / (q - 1) = 3,000
    days = (week * 7).astype("int64")
    return pa.table({
        "order_id": pa.array(np.arange(len(customer))).cast(pa.string()),
        "customer_id": pc.binary_join_element_wise("cus_", pa.array(customer).cast(pa.string()), ""),
        "ordered_date": pa.array(AS_OF - days.astype("timedelta64[D]")),
        "is_completed": pa.array(np.ones(len(customer), bool)),
        "net_revenue": pa.array(np.round(value, 2)).cast(pa.decimal128(18, 2)),
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("data/bench_value"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    warehouse = args.out / "warehouse.duckdb"
    for stale in (warehouse, warehouse.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    orders = synthetic_orders(args.customers)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.register("orders", orders)
        con.execute("create table marts.fct_orders as select * from orders")
    generated = time.perf_counter() - started
    config = args.out / "business.yml"
    config.write_text(f"systems: [retailcrm]\nrfm:\n  as_of: {AS_OF}\n", encoding="utf-8")
    env = {**os.environ, "CDP_BUSINESS_CONFIG": str(config), "CDP_DUCKDB_PATH": str(warehouse)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "cdp.dbt_cli", "run", "--select", *MODELS,
                           "--target-path", str(args.out / "target"), "--log-path", str(args.out / "logs")],
                          env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-3000:])
        return 1
    timing = {r["unique_id"].split(".")[-1]: round(r["execution_time"], 1)
              for r in json.loads((args.out / "target" / "run_results.json").read_text())["results"]}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        run = con.execute("select * from marts.value_model_runs order by run_started_at desc limit 1").df().iloc[0].to_dict()
    fit_and_score = sum(timing[m] for m in FIT_AND_SCORE)
    target = TARGET_SECONDS_PER_1M * max(args.customers, 1_000_000) / 1_000_000
    report = {
        "customers": args.customers, "orders": orders.num_rows, "generate_seconds": round(generated, 1),
        "model_seconds": timing, "fit_and_score_seconds": round(fit_and_score, 1), "target_seconds": target,
        "dbt_wall_seconds": round(wall, 1),
        "fitted": {k: round(run[f"bgnbd_{k}"], 3) for k in ("r", "alpha", "a", "b")}
                  | {k: round(run[f"gamma_gamma_{k}"], 3) for k in ("p", "q", "v")},
        "true": TRUE, "customers_per_fit": int(run["bgnbd_customers"]), "holdout_predicted_to_actual": round(run["holdout_predicted_to_actual"], 3),
    }
    print(json.dumps(report, indent=2))
    (args.out / "bench_value.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if fit_and_score <= target else 1


if __name__ == "__main__":
    sys.exit(main())
