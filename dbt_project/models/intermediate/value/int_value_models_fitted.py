"""BG/NBD and Gamma-Gamma fitted on the per-customer summaries (int_purchase_summaries), by MAP with
flat priors, i.e. maximum likelihood, with pymc-marketing (cdp/value.py).

Three fits: BG/NBD and Gamma-Gamma on the history up to the as-of date (these score the
customers), and BG/NBD on the calibration period alone, whose predictions of the holdout period are
checked against what happened (marts.value_holdout_check). Each fit sees at most
`value_max_fit_customers` customers (default 100,000), a fixed pseudo-random sample (by md5 of the
customer id): four population parameters are pinned down long before that (on a 1 M synthetic
history a 200,000 sample moved r, alpha, a, b by under 5 %), and it keeps the fit within the
one-minute budget at 1 M customers. Every customer is scored. One row per model and parameter; a model
that cannot be fitted (too few repeat buyers: var value_min_repeat_customers) has one row with its
status and no parameters, so the marts say why there is no prediction instead of failing the run.

**A fit is kept for the rest of its as-of date** (train, then predict, as Splink keeps its
weights): a build whose basis matches the last fit's uses its parameters again instead of
fitting. The basis is each period's cutoff date (so a new as-of date, i.e. the next day's run, or
another holdout length refits), the fit settings, this file's and cdp/value.py's code, and the
population: the customers summarised and their repeat purchases, each within REFIT_SHARE of the
last fit's. Why: the parameters describe the whole customer base, and a load within the day (the
hourly cart job, a second run, a 1 % change of person records) does not move them, while fitting
took 12 s of a 55 s build after a 1 % change at 100,000 people. A large load within the day (a
year of orders from a new 1C export) moves the population past the share and refits; the business
setting `value.refit_every_run: true` (var value_refit_every_run) fits on every build. `kept` and
`fitted_at` say which fit a run used.
"""

import hashlib
import json
from pathlib import Path

import pandas as pd

# The population may move this much (customers summarised, repeat purchases; each period) before
# a kept fit is refitted within the same as-of date.
REFIT_SHARE = 0.05


def _code_digest() -> str:
    import cdp.value

    sources = [Path(cdp.value.__file__)]
    here = globals().get("__file__")  # dbt-duckdb runs this model from a file of its compiled text
    if here:
        sources.append(Path(here))
    return hashlib.md5(b"".join(p.read_bytes() for p in sources)).hexdigest()


def _basis(dbt, minimum: int, limit: int) -> dict:
    rows = (dbt.ref("int_purchase_summaries")
            .filter("period in ('current', 'calibration')")
            .aggregate("period, max(cutoff_date)::varchar, count(*), coalesce(sum(frequency), 0)::bigint", "period")
            .fetchall())
    return {
        "settings": {"min_repeat_customers": minimum, "max_fit_customers": limit, "code": _code_digest()},
        "periods": {period: {"cutoff_date": cutoff, "customers": customers, "repeat_purchases": repeats}
                    for period, cutoff, customers, repeats in rows},
    }


def _same_population(kept: dict, now: dict) -> bool:
    if kept.get("settings") != now["settings"] or set(kept.get("periods", {})) != set(now["periods"]):
        return False
    for period, figures in now["periods"].items():
        before = kept["periods"][period]
        if before["cutoff_date"] != figures["cutoff_date"]:
            return False
        for measure in ("customers", "repeat_purchases"):
            if abs(figures[measure] - before[measure]) > REFIT_SHARE * max(before[measure], 1):
                return False
    return True


def _kept_fit(session, this, basis: dict) -> pd.DataFrame | None:
    """The table as the last build left it, when its basis matches this build's."""
    has_basis = session.execute(
        "select count(*) from information_schema.columns where table_schema = $schema and table_name = $name "
        "and column_name in ('basis', 'fitted_at')", {"schema": this.schema, "name": this.identifier}).fetchall()[0][0]
    if has_basis < 2:
        return None
    kept = session.execute(f"select * from {this}").df()
    if kept.empty or kept["basis"].nunique() != 1 or not _same_population(json.loads(kept["basis"].iloc[0]), basis):
        return None
    return kept


def model(dbt, session):
    dbt.config(materialized="table")
    from datetime import datetime, timezone

    # Plain assignments: dbt finds the config keys a Python model reads by parsing these calls, and
    # misses a call nested in an expression such as int(...).
    minimum = dbt.config.get("min_repeat_customers")
    limit = dbt.config.get("max_fit_customers")
    refit = dbt.config.get("refit")
    minimum, limit = int(minimum or 30), int(limit or 0)
    basis = _basis(dbt, minimum, limit)
    if str(refit).lower() not in ("true", "1", "yes"):
        kept = _kept_fit(session, dbt.this, basis)
        if kept is not None:
            # This run spent nothing on fitting; the parameters are the kept fit's.
            return kept.assign(kept=True, fit_seconds=0.0, basis=json.dumps(basis, sort_keys=True))

    from cdp.value import fit_all_apart

    columns = 'customer_id, frequency, recency, "T", monetary_value'

    def summary(period: str):
        rel = dbt.ref("int_purchase_summaries").filter(f"period = '{period}'").select(columns)
        return (rel.order("md5(customer_id)").limit(limit) if limit else rel).df()

    current, calibration = summary("current"), summary("calibration")
    fits = fit_all_apart(current, calibration, minimum)  # in a child process: PyMC's memory goes with it
    fitted_at = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for period, fit in fits:
        for parameter, value in (fit.parameters or {None: None}).items():
            rows.append({"model": fit.model, "period": period, "parameter": parameter, "value": value,
                         "customers": fit.customers, "fit_seconds": fit.seconds, "status": fit.status,
                         "fitted_at": fitted_at, "kept": False})
    out = pd.DataFrame(rows).assign(basis=json.dumps(basis, sort_keys=True))
    return out.astype({"model": "string", "period": "string", "parameter": "string", "value": "float64",
                       "customers": "int64", "fit_seconds": "float64", "status": "string",
                       "fitted_at": "datetime64[us]", "kept": "bool", "basis": "string"})
