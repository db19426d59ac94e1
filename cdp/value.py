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


def expected_purchases(parameters: dict[str, float], frequency, recency, T, future_t) -> np.ndarray:
    """BG/NBD's expected purchases in the next `future_t` weeks (Fader, Hardie & Lee 2005, eq. 10),
    written as pymc-marketing's `BetaGeoModel.expected_purchases` writes it (same operations, same
    SciPy hyp2f1), so the two agree to the last digits (tests/test_value.py compares them).

    Why not the library's method: it needs PyMC imported and the parameters wrapped in a model, and
    at 1 M people that was 23 s of a build after a 1 % change (PyMC's import, about 10 s on a busy
    machine, and xarray over 3 M rows), once fits are kept for the day (int_value_models_fitted)
    and nothing else in the build imports PyMC. Fitting still uses the library."""
    from scipy.special import hyp2f1

    r, alpha, a, b = (parameters[k] for k in BGNBD_PARAMETERS)
    x, t_x, T, t = (np.asarray(v, dtype=float) for v in (frequency, recency, T, future_t))
    numerator = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator *= (a + b + x - 1) / (a - 1)
    denominator = 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return numerator / denominator


def probability_alive(parameters: dict[str, float], frequency, recency, T) -> np.ndarray:
    """BG/NBD's probability that the customer is still active, as `BetaGeoModel.
    expected_probability_alive` writes it (1 for a customer with no repeat purchase)."""
    from scipy.special import expit

    r, alpha, a, b = (parameters[k] for k in BGNBD_PARAMETERS)
    x, t_x, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    with np.errstate(divide="ignore", invalid="ignore"):  # the x == 0 rows, replaced below, as the library does
        log_div = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_div))


def expected_spend(parameters: dict[str, float], frequency, mean_value) -> np.ndarray:
    """Gamma-Gamma's expected value per purchase given the customer's repeat purchases and their
    mean value, as `GammaGammaModel.expected_customer_spend` writes it: a weighting of the
    population mean and the customer's own mean (the population mean at frequency 0)."""
    p, q, v = (parameters[k] for k in GAMMA_GAMMA_PARAMETERS)
    x, m = (np.asarray(v_, dtype=float) for v_ in (frequency, mean_value))
    individual_weight = p * x / (p * x + q - 1)
    population_mean = v * p / (q - 1)
    return (1 - individual_weight) * population_mean + individual_weight * m


def score(summary: pd.DataFrame, bgnbd: Fit, gamma_gamma: Fit, horizon_weeks: float,
          extra_horizons: dict[str, float] | None = None) -> pd.DataFrame:
    """Per customer: expected purchases over the horizon, probability alive, expected value per
    purchase (Gamma-Gamma's conditional mean; the population mean for one-time buyers) and
    predicted revenue = purchases x value (undiscounted). Nulls where a model is not fitted.
    NumPy over the whole table; PyMC is not imported (expected_purchases says why)."""
    out = pd.DataFrame({"customer_id": summary["customer_id"].to_numpy()})
    if not bgnbd.ok or summary.empty:
        for column in ["expected_purchases", "probability_alive", "expected_purchase_value", "predicted_revenue",
                       *(extra_horizons or {})]:
            out[column] = np.nan
        return out
    x, t_x, T = summary["frequency"], summary["recency"], summary["T"]
    out["expected_purchases"] = expected_purchases(bgnbd.parameters, x, t_x, T, horizon_weeks)
    out["probability_alive"] = probability_alive(bgnbd.parameters, x, t_x, T)
    for name, weeks in (extra_horizons or {}).items():
        out[name] = expected_purchases(bgnbd.parameters, x, t_x, T, weeks)
    if gamma_gamma.ok:
        valued = summary["monetary_value"] > 0  # one-time buyers and zero-value repeats: the population mean
        out["expected_purchase_value"] = expected_spend(
            gamma_gamma.parameters, summary["frequency"].where(valued, 0),
            summary["monetary_value"].where(valued, 0.0).fillna(0.0))
        out["predicted_revenue"] = out["expected_purchases"] * out["expected_purchase_value"]
    else:
        out["expected_purchase_value"] = np.nan
        out["predicted_revenue"] = np.nan
    return out


def predicted_holdout(summary: pd.DataFrame, bgnbd: Fit, holdout_weeks: pd.Series | float) -> np.ndarray:
    """Expected purchases in the holdout period for customers summarised at the calibration end."""
    if not bgnbd.ok or summary.empty:
        return np.full(len(summary), np.nan)
    return expected_purchases(bgnbd.parameters, summary["frequency"], summary["recency"], summary["T"], holdout_weeks)


def _fit_all(current: pd.DataFrame, calibration: pd.DataFrame, minimum: int) -> list[tuple[str, Fit]]:
    return [("current", fit_bgnbd(current, minimum)), ("current", fit_gamma_gamma(current, minimum)),
            ("calibration", fit_bgnbd(calibration, minimum))]


def fit_all_apart(current: pd.DataFrame, calibration: pd.DataFrame, minimum: int) -> list[tuple[str, Fit]]:
    """BG/NBD and Gamma-Gamma on the current period and BG/NBD on the calibration period, fitted in
    a child process (`python -m cdp.value`; the frames go over a pipe, pickled). Why: importing
    PyMC and PyTensor alone takes about 0.3 GiB (298 MiB measured), which the dbt process, where
    the fit is a model, would keep for the rest of the build beside DuckDB's own budget; the child
    gives back that and what the fit used when it ends. It costs a Python start (the import is paid
    either way). The fits are the same as `_fit_all` in this process, number for number."""
    import pickle
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "cdp.value"], input=pickle.dumps((current, calibration, minimum)),
                          capture_output=True, check=False)
    if done.returncode:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError("the value fit's process failed: " + (said[-1] if said else f"exit code {done.returncode}"))
    return pickle.loads(done.stdout)


if __name__ == "__main__":  # fit_all_apart's child: frames in on stdin, fits out on stdout, both pickled
    import os
    import pickle
    import sys

    from cdp import value  # the module by its name: a Fit pickled from `__main__` would not load in the caller

    answer = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever the libraries print goes to stderr, never into the pickled answer
    frames = pickle.loads(sys.stdin.buffer.read())
    with answer:
        answer.write(pickle.dumps(value._fit_all(*frames)))
