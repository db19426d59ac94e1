"""BG/NBD and Gamma-Gamma fitted on the per-customer summaries (int_purchase_summaries), by MAP with
flat priors, i.e. maximum likelihood, with pymc-marketing (cdp/value.py).

Three fits per run: BG/NBD and Gamma-Gamma on the history up to the as-of date (these score the
customers), and BG/NBD on the calibration period alone, whose predictions of the holdout period are
checked against what happened (marts.value_holdout_check). One row per model and parameter; a model
that cannot be fitted (too few repeat buyers: var value_min_repeat_customers) has one row with its
status and no parameters, so the marts say why there is no prediction instead of failing the run.
"""

import pandas as pd


def model(dbt, session):
    dbt.config(materialized="table")
    from cdp.value import fit_bgnbd, fit_gamma_gamma

    minimum = int(dbt.config.get("min_repeat_customers") or 30)
    columns = 'customer_id, frequency, recency, "T", monetary_value'
    current = dbt.ref("int_purchase_summaries").filter("period = 'current'").select(columns).df()
    calibration = dbt.ref("int_purchase_summaries").filter("period = 'calibration'").select(columns).df()
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
