"""Closed-form and Prophet candidates: model-scale training series in, point forecasts and predictive spreads out.

Each function takes a list of 1-d training arrays (any lengths) and a horizon and returns `(mean, sd)`, two
(n_series, horizon) arrays on the model scale, NaN where a series is too short. The statsforecast candidates
are fitted in `forecasts.engine`; these are the ones whose estimate is a formula (so fitting 10,000 backtest
windows costs milliseconds) and Prophet, which is one Stan fit per series.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np


def _empty(n: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full((n, horizon), np.nan), np.full((n, horizon), np.nan)


def naive(series: list[np.ndarray], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Random walk without drift, as statsforecast's Naive: σ² the mean squared one-year change, sd σ√h."""
    mean, sd = _empty(len(series), horizon)
    steps = np.arange(1, horizon + 1)
    for i, y in enumerate(series):
        if y.size < 2:
            continue
        sigma = np.sqrt(np.mean(np.diff(y) ** 2))
        mean[i] = y[-1]
        sd[i] = sigma * np.sqrt(steps)
    return mean, sd


def rw_drift(series: list[np.ndarray], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Random walk with drift, as statsforecast's RandomWalkWithDrift (drift = (y_T − y_1)/(T − 1),
    σ² over the T − 1 residuals, sd_h = σ √(h (1 + h/(T − 1))) including the drift's own uncertainty)."""
    mean, sd = _empty(len(series), horizon)
    steps = np.arange(1, horizon + 1)
    for i, y in enumerate(series):
        if y.size < 3:
            continue
        m = y.size - 1
        drift = (y[-1] - y[0]) / m
        sigma = np.sqrt(np.sum((np.diff(y) - drift) ** 2) / m)
        mean[i] = y[-1] + drift * steps
        sd[i] = sigma * np.sqrt(steps * (1 + steps / m))
    return mean, sd


def arima(series: list[np.ndarray], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """ARIMA(1,1,0) with drift by conditional least squares: d_t = c + φ d_{t−1} + e_t on the differences.

    Closed form, so it cannot fail to converge on a 7-point series and costs microseconds inside the rolling
    backtest (statsforecast's AutoARIMA costs 40–200 ms a fit on these series; it is registered as
    `auto_arima`). φ is held inside ±0.95 so that growth is stationary and the drift c/(1 − φ) is the long-run
    growth. sd_h from the ψ weights of the integrated AR(1): ψ_j = (1 − φ^{j+1})/(1 − φ).
    """
    mean, sd = _empty(len(series), horizon)
    for i, y in enumerate(series):
        d = np.diff(y)
        if d.size < 5:
            continue
        previous, current = d[:-1], d[1:]
        design = np.column_stack([np.ones_like(previous), previous])
        (c, phi), *_ = np.linalg.lstsq(design, current, rcond=None)
        if abs(phi) > 0.95:
            phi = float(np.clip(phi, -0.95, 0.95))
            c = float(np.mean(current - phi * previous))
        errors = current - c - phi * previous
        sigma = np.sqrt(np.sum(errors**2) / max(errors.size - 2, 1))
        growth = np.empty(horizon)
        last = d[-1]
        for step in range(horizon):
            last = c + phi * last
            growth[step] = last
        mean[i] = y[-1] + np.cumsum(growth)
        psi = np.cumsum(phi ** np.arange(horizon))
        sd[i] = sigma * np.sqrt(np.cumsum(psi**2))
    return mean, sd


CLOSED_FORM = {"naive": naive, "rw_drift": rw_drift, "arima": arima}


# --- Prophet ---------------------------------------------------------------------------------------------


def _quiet_prophet_loggers() -> None:
    for noisy in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    from cmdstanpy.utils import get_logger

    get_logger().setLevel(logging.CRITICAL)  # cmdstanpy sets its level on first use


def _prophet_one(y: np.ndarray, horizon: int, rng: np.random.Generator, n_draws: int = 500) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd
    from prophet import Prophet

    n = y.size
    # Prophet's 25 candidate changepoints assume dense data; annual series get one per three years.
    model = Prophet(growth="linear", n_changepoints=max(1, min(25, (n - 1) // 3)), changepoint_range=0.8,
                    changepoint_prior_scale=0.05, yearly_seasonality=False, weekly_seasonality=False,
                    daily_seasonality=False, uncertainty_samples=0)
    frame = pd.DataFrame({"ds": pd.to_datetime([f"{2000 + i}-01-01" for i in range(n)]), "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(frame)
    k = float(np.ravel(model.params["k"])[0])
    offset = float(np.ravel(model.params["m"])[0])
    deltas = np.atleast_2d(np.asarray(model.params["delta"], dtype=float))[0]
    sigma = float(np.ravel(model.params["sigma_obs"])[0]) * float(model.y_scale)
    t = np.asarray(model.history["t"], dtype=float)
    fitted = Prophet.piecewise_linear(t, deltas, k, offset, np.asarray(model.changepoints_t, dtype=float))
    level = float(fitted[-1] * model.y_scale + np.asarray(model.history["floor"], dtype=float)[-1])
    per_year = 1.0 / (n - 1)  # Prophet's time runs 0..1 over the history
    slope = (k + deltas.sum()) * model.y_scale * per_year
    # Future slope changes as Prophet's sample_predictive_trend draws them: Poisson arrivals at the
    # historical changepoint rate, Laplace sizes of the fitted changes' mean magnitude.
    rate = len(model.changepoints_t) * per_year
    scale = (np.mean(np.abs(deltas)) + 1e-8) * model.y_scale * per_year
    ahead = np.arange(1, horizon + 1, dtype=float)
    counts = rng.poisson(rate * horizon, size=n_draws)
    most = int(counts.max(initial=0))
    trend = np.tile(level + slope * ahead, (n_draws, 1))
    if most:
        times = rng.uniform(0.0, horizon, size=(n_draws, most))
        sizes = rng.laplace(0.0, scale, size=(n_draws, most))
        sizes[np.arange(most)[None, :] >= counts[:, None]] = 0.0
        trend += np.einsum("pc,pch->ph", sizes, np.clip(ahead[None, None, :] - times[:, :, None], 0.0, None))
    return trend.mean(axis=0), np.sqrt(trend.var(axis=0) + sigma**2)


def prophet(series: list[np.ndarray], horizon: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Prophet (linear trend, no seasonality) per series: its trend's mean and the spread of trend and noise."""
    _quiet_prophet_loggers()
    mean, sd = _empty(len(series), horizon)
    rng = np.random.default_rng(seed)
    for i, y in enumerate(series):
        if y.size < 5:
            continue
        try:
            mean[i], sd[i] = _prophet_one(y, horizon, rng)
        except (ValueError, ArithmeticError, RuntimeError, IndexError):
            continue  # a degenerate series: Prophet drops out of this comparison
    return mean, sd
