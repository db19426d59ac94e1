"""BG/NBD and Gamma-Gamma fitted on the per-customer summaries (int_purchase_summaries), by MAP with
flat priors, i.e. maximum likelihood, with pymc-marketing (cdp/value.py).

Three fits per run: BG/NBD and Gamma-Gamma on the history up to the as-of date (these score the
customers), and BG/NBD on the calibration period alone, whose predictions of the holdout period are
checked against what happened (marts.value_holdout_check). Each fit sees at most
`value_max_fit_customers` customers (default 100,000), a fixed pseudo-random sample (by md5 of the
customer id): four population parameters are pinned down long before that (on a 1 M synthetic
history a 200,000 sample moved r, alpha, a, b by under 5 %), and it keeps the fit within the
one-minute budget at 1 M customers. Every customer is scored. One row per model and parameter; a model
that cannot be fitted (too few repeat buyers: var value_min_repeat_customers) has one row with its
status and no parameters, so the marts say why there is no prediction instead of failing the run.
"""

import pandas as pd


def model(dbt, session):
    dbt.config(materialized="table")
    from cdp.value import fit_bgnbd, fit_gamma_gamma

    # Plain assignments: dbt finds the config keys a Python model reads by parsing these calls, and
    # misses a call nested in an expression such as int(...).
    minimum = dbt.config.get("min_repeat_customers")
    limit = dbt.config.get("max_fit_customers")
    minimum, limit = int(minimum or 30), int(limit or 0)
    columns = 'customer_id, frequency, recency, "T", monetary_value'

    def summary(period: str):
        rel = dbt.ref("int_purchase_summaries").filter(f"period = '{period}'").select(columns)
        return (rel.order("md5(customer_id)").limit(limit) if limit else rel).df()

    current, calibration = summary("current"), summary("calibration")
    fits = [
        ("current", fit_bgnbd(current, minimum)),
        ("current", fit_gamma_gamma(current, minimum)),
        ("calibration", fit_bgnbd(calibration, minimum)),
    ]
    rows = []
    for period, fit in fits:
        for parameter, value in (fit.parameters or {None: None}).items():
            rows.append({"model": fit.model, "period": period, "parameter": parameter, "value": value,
                         "customers": fit.customers, "fit_seconds": fit.seconds, "status": fit.status})
    return pd.DataFrame(rows).astype({"model": "string", "period": "string", "parameter": "string",
                                      "value": "float64", "customers": "int64", "fit_seconds": "float64",
                                      "status": "string"})
