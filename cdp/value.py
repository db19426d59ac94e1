"""Predicted customer value: BG/NBD (how many more purchases, and whether the customer is still
active) and Gamma-Gamma (what a purchase is worth), fitted with pymc-marketing by MAP.

Why here and why these: the models are the field's standard for non-contractual retail (Fader,
Hardie & Lee 2005; Fader & Hardie 2013) and pymc-marketing is their maintained implementation
(dbt_project/DECISIONS.md, "Predicted value", says why not lifetimes or btyd). Flat priors make
MAP the maximum-likelihood fit of the papers, so the CDNOW parameters can be checked against the
published ones (tests/test_value.py). Everything works on the per-customer summary (frequency,
recency, T in weeks, mean repeat-purchase value) that SQL computes in the warehouse
(int_purchase_summaries); nothing here reads orders. Imports are inside the functions: PyMC takes
seconds to import and nothing should pay that at import time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

WEEKS_PER_MONTH = 365.25 / 12 / 7
BGNBD_PARAMETERS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMETERS = ("p", "q", "v")


@dataclass
class Fit:
    """A fitted model's parameters, or why there are none."""

    model: str
    parameters: dict[str, float] = field(default_factory=dict)
    customers: int = 0
    seconds: float = 0.0
    status: str = "fitted"

    @property
    def ok(self) -> bool:
        return self.status == "fitted"


def _quiet() -> None:
    import logging
    import warnings

    warnings.filterwarnings("ignore", module=r"(pymc|pytensor|pymc_marketing|pymc_extras|arviz|xarray)\b")
    for name in ("pymc", "pytensor", "pymc_marketing", "arviz"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _flat(names: tuple[str, ...]) -> dict:
    from pymc_extras.prior import Prior

    return {name: Prior("HalfFlat") for name in names}


def fit_bgnbd(summary: pd.DataFrame, min_repeat_customers: int = 30) -> Fit:
    """BG/NBD by maximum likelihood (MAP under flat priors) on customer_id, frequency, recency, T."""
    data = summary[["customer_id", "frequency", "recency", "T"]]
    repeaters = int((data["frequency"] > 0).sum())
    if repeaters < min_repeat_customers:
        return Fit("bgnbd", customers=len(data), status=f"not fitted: {repeaters} repeat buyers, need {min_repeat_customers}")
    _quiet()
    from pymc_marketing.clv import BetaGeoModel

    started = time.perf_counter()
    model = BetaGeoModel(model_config=_flat(BGNBD_PARAMETERS))
    model.fit(data=data, method="map", progressbar=False)
    values = model.fit_result
    return Fit("bgnbd", {k: float(values[k].values.squeeze()) for k in BGNBD_PARAMETERS}, len(data),
               round(time.perf_counter() - started, 2))


def fit_gamma_gamma(summary: pd.DataFrame, min_repeat_customers: int = 30) -> Fit:
    """Gamma-Gamma on the repeat buyers' mean purchase value (positive values only: the model is
    for spend, and a zero-value repeat purchase says nothing about it)."""
    data = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0),
                       ["customer_id", "frequency", "monetary_value"]]
    if len(data) < min_repeat_customers:
        return Fit("gamma_gamma", customers=len(data),
                   status=f"not fitted: {len(data)} repeat buyers with a value, need {min_repeat_customers}")
    _quiet()
    from pymc_marketing.clv import GammaGammaModel

    started = time.perf_counter()
    model = GammaGammaModel(model_config=_flat(GAMMA_GAMMA_PARAMETERS))
    model.fit(data=data, method="map", progressbar=False)
    values = model.fit_result
    return Fit("gamma_gamma", {k: float(values[k].values.squeeze()) for k in GAMMA_GAMMA_PARAMETERS}, len(data),
               round(time.perf_counter() - started, 2))


def _with_parameters(model_class, parameters: dict[str, float], data: pd.DataFrame):
    """A pymc-marketing model carrying given parameters as its (single-draw) fit, so predictions
    come from the library's formulas without fitting again."""
    import arviz as az

    model = model_class(model_config=_flat(tuple(parameters)))
    # The graph is not used for predictions: one (repeat buyer's) row builds it.
    repeaters = data[data["frequency"] > 0]
    model.build_model(data=(repeaters if len(repeaters) else data).head(1))
    model.idata = az.from_dict(posterior={k: np.array([[v]]) for k, v in parameters.items()})
    return model


def score(summary: pd.DataFrame, bgnbd: Fit, gamma_gamma: Fit, horizon_weeks: float,
          extra_horizons: dict[str, float] | None = None) -> pd.DataFrame:
    """Per customer: expected purchases over the horizon, probability alive, expected value per
    purchase (Gamma-Gamma's conditional mean; the population mean for one-time buyers) and
    predicted revenue = purchases x value (undiscounted). Nulls where a model is not fitted."""
    out = pd.DataFrame({"customer_id": summary["customer_id"].to_numpy()})
    if not bgnbd.ok or summary.empty:
        for column in ["expected_purchases", "probability_alive", "expected_purchase_value", "predicted_revenue",
                       *(extra_horizons or {})]:
            out[column] = np.nan
        return out
    _quiet()
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    rft = summary[["customer_id", "frequency", "recency", "T"]]
    model = _with_parameters(BetaGeoModel, bgnbd.parameters, rft)
    flat = lambda a: np.asarray(a).reshape(-1)  # noqa: E731 (one draw, one chain)
    out["expected_purchases"] = flat(model.expected_purchases(data=rft, future_t=horizon_weeks))
    out["probability_alive"] = flat(model.expected_probability_alive(data=rft))
    for name, weeks in (extra_horizons or {}).items():
        out[name] = flat(model.expected_purchases(data=rft, future_t=weeks))
    if gamma_gamma.ok:
        spend_data = summary[["customer_id", "frequency", "monetary_value"]].assign(
            monetary_value=summary["monetary_value"].where(summary["monetary_value"] > 0, 0.0).fillna(0.0),
            frequency=summary["frequency"].where(summary["monetary_value"] > 0, 0))
        spend = _with_parameters(GammaGammaModel, gamma_gamma.parameters, spend_data)
        out["expected_purchase_value"] = flat(spend.expected_customer_spend(data=spend_data))
        out["predicted_revenue"] = out["expected_purchases"] * out["expected_purchase_value"]
    else:
        out["expected_purchase_value"] = np.nan
        out["predicted_revenue"] = np.nan
    return out


def predicted_holdout(summary: pd.DataFrame, bgnbd: Fit, holdout_weeks: pd.Series | float) -> np.ndarray:
    """Expected purchases in the holdout period for customers summarised at the calibration end."""
    if not bgnbd.ok or summary.empty:
        return np.full(len(summary), np.nan)
    _quiet()
    from pymc_marketing.clv import BetaGeoModel

    rft = summary[["customer_id", "frequency", "recency", "T"]]
    model = _with_parameters(BetaGeoModel, bgnbd.parameters, rft)
    t = np.asarray(holdout_weeks, dtype=float) if not np.isscalar(holdout_weeks) else holdout_weeks
    return np.asarray(model.expected_purchases(data=rft, future_t=t)).reshape(-1)
