"""Every summarised customer scored with the fitted parameters (int_value_models_fitted), with
pymc-marketing's closed forms written in NumPy (cdp/value.py; PyMC is not imported), once per
period of int_purchase_summaries:
`current` (predictions over the horizon, var value_horizon_months, and over the next 30 days),
`month_ago` (the probability of being active a month earlier, for "slipping away"), and
`calibration` (purchases the calibration fit expects in the holdout period, beside the actual ones).
Vectorised over the whole table: no Python per customer.
"""

import pandas as pd


def model(dbt, session):
    dbt.config(materialized="table")
    from cdp.value import WEEKS_PER_MONTH, Fit, predicted_holdout, score

    horizon_months = dbt.config.get("horizon_months")  # a plain assignment, so dbt's parser sees the key
    horizon_weeks = float(horizon_months or 12) * WEEKS_PER_MONTH
    fitted = dbt.ref("int_value_models_fitted").df()

    def fit(model_name: str, period: str) -> Fit:
        rows = fitted[(fitted["model"] == model_name) & (fitted["period"] == period)]
        if rows.empty:
            return Fit(model_name, status="not fitted: no data")
        ok = rows[rows["parameter"].notna()]
        return Fit(model_name, dict(zip(ok["parameter"], ok["value"].astype(float))), int(rows["customers"].iloc[0]),
                   float(rows["fit_seconds"].iloc[0]), str(rows["status"].iloc[0]))

    columns = 'customer_id, frequency, recency, "T", monetary_value, holdout_purchases, holdout_weeks'
    summaries = {period: dbt.ref("int_purchase_summaries").filter(f"period = '{period}'").select(columns).df()
                 for period in ("current", "month_ago", "calibration")}
    bgnbd, gamma_gamma = fit("bgnbd", "current"), fit("gamma_gamma", "current")
    frames = []
    for period in ("current", "month_ago"):
        scored = score(summaries[period], bgnbd, gamma_gamma, horizon_weeks,
                       {"expected_purchases_30d": 30 / 7} if period == "current" else None)
        frames.append(scored.assign(period=period))
    calibration = summaries["calibration"]
    frames.append(pd.DataFrame({
        "customer_id": calibration["customer_id"].to_numpy(),
        "period": "calibration",
        "holdout_predicted_purchases": predicted_holdout(calibration, fit("bgnbd", "calibration"), calibration["holdout_weeks"]),
        "holdout_actual_purchases": calibration["holdout_purchases"].to_numpy(),
    }))
    columns = ["customer_id", "period", "expected_purchases", "expected_purchases_30d", "probability_alive",
               "expected_purchase_value", "predicted_revenue", "holdout_predicted_purchases", "holdout_actual_purchases"]
    out = pd.concat(frames, ignore_index=True).reindex(columns=columns)
    return out.astype({c: "float64" for c in columns[2:]}).astype({"customer_id": "string", "period": "string"})
