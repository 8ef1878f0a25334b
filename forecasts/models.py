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


def _by_length(series: list[np.ndarray], shortest: int):
    """The windows of each length (at least `shortest`) as one (k, length) array, with their positions."""
    groups: dict[int, list[int]] = {}
    for i, y in enumerate(series):
        if y.size >= shortest:
            groups.setdefault(y.size, []).append(i)
    for length, members in groups.items():
        yield np.array(members), np.stack([series[i] for i in members]).astype(float, copy=False)


def naive(series: list[np.ndarray], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Random walk without drift, as statsforecast's Naive: σ² the mean squared one-year change, sd σ√h."""
    mean, sd = _empty(len(series), horizon)
    steps = np.arange(1, horizon + 1)
    for rows, y in _by_length(series, 2):
        sigma = np.sqrt(np.mean(np.diff(y, axis=1) ** 2, axis=1))
        mean[rows] = y[:, -1:]
        sd[rows] = sigma[:, None] * np.sqrt(steps)[None, :]
    return mean, sd


def rw_drift(series: list[np.ndarray], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Random walk with drift, as statsforecast's RandomWalkWithDrift (drift = (y_T − y_1)/(T − 1),
    σ² over the T − 1 residuals, sd_h = σ √(h (1 + h/(T − 1))) including the drift's own uncertainty)."""
    mean, sd = _empty(len(series), horizon)
    steps = np.arange(1, horizon + 1)
    for rows, y in _by_length(series, 3):
        m = y.shape[1] - 1
        drift = (y[:, -1] - y[:, 0]) / m
        sigma = np.sqrt(np.sum((np.diff(y, axis=1) - drift[:, None]) ** 2, axis=1) / m)
        mean[rows] = y[:, -1:] + drift[:, None] * steps[None, :]
        sd[rows] = sigma[:, None] * np.sqrt(steps * (1 + steps / m))[None, :]
    return mean, sd


def arima(series: list[np.ndarray], horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """ARIMA(1,1,0) with drift by conditional least squares: d_t = c + φ d_{t−1} + e_t on the differences.

    Closed form, so it cannot fail to converge on a 7-point series and costs microseconds inside the rolling
    backtest (statsforecast's AutoARIMA costs 40–200 ms a fit on these series; it is registered as
    `auto_arima`). φ is held inside ±0.95 so that growth is stationary and the drift c/(1 − φ) is the long-run
    growth. sd_h from the ψ weights of the integrated AR(1): ψ_j = (1 − φ^{j+1})/(1 − φ).
    The least squares of each window of a length are solved together: the normal equations of the two
    coefficients, and numpy's least squares for a window whose lagged differences do not vary (its minimum-norm
    solution, as before).
    """
    mean, sd = _empty(len(series), horizon)
    for rows, y in _by_length(series, 6):
        d = np.diff(y, axis=1)
        previous, current = d[:, :-1], d[:, 1:]
        n = previous.shape[1]
        mx, my = previous.mean(axis=1), current.mean(axis=1)
        sxx = np.sum((previous - mx[:, None]) ** 2, axis=1)
        sxy = np.sum((previous - mx[:, None]) * (current - my[:, None]), axis=1)
        degenerate = sxx <= 1e-12 * np.maximum(np.sum(previous**2, axis=1), 1e-300)
        with np.errstate(invalid="ignore", divide="ignore"):
            phi = np.where(degenerate, 0.0, sxy / sxx)
        c = my - phi * mx
        for k in np.flatnonzero(degenerate):
            design = np.column_stack([np.ones(n), previous[k]])
            (c[k], phi[k]), *_ = np.linalg.lstsq(design, current[k], rcond=None)
        clipped = np.abs(phi) > 0.95
        phi = np.where(clipped, np.clip(phi, -0.95, 0.95), phi)
        c = np.where(clipped, np.mean(current - phi[:, None] * previous, axis=1), c)
        errors = current - c[:, None] - phi[:, None] * previous
        sigma = np.sqrt(np.sum(errors**2, axis=1) / max(n - 2, 1))
        growth = np.empty((rows.size, horizon))
        last = d[:, -1]
        for step in range(horizon):
            last = c + phi * last
            growth[:, step] = last
        mean[rows] = y[:, -1:] + np.cumsum(growth, axis=1)
        psi = np.cumsum(phi[:, None] ** np.arange(horizon)[None, :], axis=1)
        sd[rows] = sigma[:, None] * np.sqrt(np.cumsum(psi**2, axis=1))
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
