"""Candidate models: an annual model-scale series in, a fitted model that simulates sample paths out.

Every model is written in innovations form: one standard-normal shock per simulated year drives
the path. The pair forecaster hands in shocks that are correlated between the two countries, so
the same code gives marginal intervals and joint paths. Simulation is vectorised over paths.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

# Minimum number of points each model is fitted on; fewer and the estimate is not worth having
# (ETS with a damped trend estimates five quantities).
MIN_POINTS = {
    "rw_drift": 3,
    "arima_drift": 6,
    "ets": 5,
    "ets_damped": 6,
    "llt": 5,
    "prophet": 5,
}
DEFAULT_MODELS = ("rw_drift", "ets", "ets_damped", "arima_drift", "llt", "prophet")
SHORT_SERIES_MODELS = ("rw_drift",)


class ModelFitError(RuntimeError):
    """A candidate model could not be fitted to this series (too short, degenerate, no convergence)."""


# What statsmodels and Prophet raise on degenerate annual series (constant, a single step, a
# spike); each becomes a ModelFitError so the model drops out of that comparison instead of
# stopping the run.
_FIT_FAILURES = (ValueError, ArithmeticError, IndexError, RuntimeError, np.linalg.LinAlgError)


class FittedModel(Protocol):
    name: str
    residuals: np.ndarray  # one-step (or in-sample) errors aligned with the input; NaN where undefined

    def simulate(self, shocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Model-scale paths (n_paths, h) after the last observation, driven by N(0, 1) shocks (n_paths, h)."""
        ...


# --- random walk with drift ------------------------------------------------------------------


@dataclass
class RandomWalkDrift:
    """y_t = y_{t-1} + c + e_t, simulated from the posterior predictive under a flat prior.

    Drawing sigma² from its scaled inverse chi-square and the drift from N(c_hat, sigma²/m) makes
    each year's marginal a Student-t with the exact width for short series: the interval grows with
    h² / m from the drift's own uncertainty, which is what keeps 9-point series honest.
    """

    last: float
    drift: float
    sigma2: float
    n_diffs: int
    residuals: np.ndarray
    name: str = "rw_drift"

    def simulate(self, shocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_paths = shocks.shape[0]
        dof = self.n_diffs - 1
        sigma2 = self.sigma2 * dof / rng.chisquare(dof, size=n_paths)
        sigma = np.sqrt(sigma2)
        drift = self.drift + sigma / np.sqrt(self.n_diffs) * rng.standard_normal(n_paths)
        steps = drift[:, None] + sigma[:, None] * shocks
        return self.last + np.cumsum(steps, axis=1)


def fit_rw_drift(y: np.ndarray) -> RandomWalkDrift:
    diffs = np.diff(y)
    if diffs.size < 2:
        raise ModelFitError("random walk with drift needs at least 3 points")
    drift = float(diffs.mean())
    sigma2 = float(diffs.var(ddof=1))
    residuals = np.concatenate([[np.nan], diffs - drift])
    return RandomWalkDrift(float(y[-1]), drift, sigma2, int(diffs.size), residuals)


# --- ARIMA(1,1,0) with drift --------------------------------------------------------------------


@dataclass
class ArimaDrift:
    """Growth follows an AR(1) around a drift: d_t = c + phi d_{t-1} + e_t, y_t = y_{t-1} + d_t."""

    last: float
    last_diff: float
    intercept: float
    phi: float
    sigma: float
    residuals: np.ndarray
    name: str = "arima_drift"

    def simulate(self, shocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_paths, horizon = shocks.shape
        growth = np.full(n_paths, self.last_diff)
        level = np.full(n_paths, self.last)
        out = np.empty((n_paths, horizon))
        for step in range(horizon):
            growth = self.intercept + self.phi * growth + self.sigma * shocks[:, step]
            level = level + growth
            out[:, step] = level
        return out


def fit_arima_drift(y: np.ndarray) -> ArimaDrift:
    """Conditional least squares (R's `arima(method="CSS")`) on the differences.

    Closed form, so it cannot fail to converge on a 9-point series and costs microseconds inside
    the rolling-origin backtest; phi is kept inside (-0.95, 0.95) so the growth rate stays
    stationary and the drift is the long-run growth.
    """
    diffs = np.diff(y)
    if diffs.size < 5:
        raise ModelFitError("ARIMA(1,1,0) with drift needs at least 6 points")
    previous, current = diffs[:-1], diffs[1:]
    design = np.column_stack([np.ones_like(previous), previous])
    coef, *_ = np.linalg.lstsq(design, current, rcond=None)
    intercept, phi = float(coef[0]), float(coef[1])
    if abs(phi) > 0.95:
        phi = float(np.clip(phi, -0.95, 0.95))
        intercept = float(np.mean(current - phi * previous))
    errors = current - intercept - phi * previous
    dof = max(errors.size - 2, 1)
    sigma = float(np.sqrt(np.sum(errors**2) / dof))
    residuals = np.concatenate([[np.nan, np.nan], errors])
    return ArimaDrift(float(y[-1]), float(diffs[-1]), intercept, phi, sigma, residuals)


# --- ETS with additive (optionally damped) trend ---------------------------------------------


@dataclass
class EtsAdditive:
    """ETS(A,A,N) or ETS(A,Ad,N) in Hyndman's innovations form, parameters from statsmodels."""

    level: float
    trend: float
    alpha: float
    beta: float
    phi: float
    sigma: float
    residuals: np.ndarray
    name: str = "ets"

    def simulate(self, shocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_paths, horizon = shocks.shape
        level = np.full(n_paths, self.level)
        trend = np.full(n_paths, self.trend)
        out = np.empty((n_paths, horizon))
        for step in range(horizon):
            error = self.sigma * shocks[:, step]
            damped = self.phi * trend
            out[:, step] = level + damped + error
            level = level + damped + self.alpha * error
            trend = damped + self.beta * error
        return out


def _fit_ets(y: np.ndarray, damped: bool) -> EtsAdditive:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    with warnings.catch_warnings():
        # Short annual series routinely trip statsmodels' convergence warnings; a poor fit shows
        # up in the backtest score, which is where it should be judged.
        warnings.simplefilter("ignore")
        try:
            result = ETSModel(y, error="add", trend="add", damped_trend=damped).fit(disp=False)
        except _FIT_FAILURES as exc:
            raise ModelFitError(f"ETS fit failed: {exc}") from exc
    params = dict(zip(result.model.param_names, np.asarray(result.params, dtype=float)))
    scale = float(result.scale)
    if not np.isfinite(scale) or scale < 0:
        raise ModelFitError("ETS fit returned a non-finite error variance")
    return EtsAdditive(
        level=float(np.asarray(result.level)[-1]),
        trend=float(np.asarray(result.slope)[-1]),
        alpha=params["smoothing_level"],
        beta=params["smoothing_trend"],
        phi=params.get("damping_trend", 1.0),
        sigma=float(np.sqrt(scale)),
        residuals=np.asarray(result.resid, dtype=float),
        name="ets_damped" if damped else "ets",
    )


def fit_ets(y: np.ndarray) -> EtsAdditive:
    return _fit_ets(y, damped=False)


def fit_ets_damped(y: np.ndarray) -> EtsAdditive:
    return _fit_ets(y, damped=True)


# --- local linear trend (UnobservedComponents) -----------------------------------------------


@dataclass
class LocalLinearTrend:
    """Level and slope random walks plus noise; future paths from the Kalman filter run forward.

    Each simulated year draws the observation from its one-step predictive N(Z a, F) and updates
    the filter with it. The product of those conditionals is the exact joint predictive of the
    future years, and it needs only one shock per year — the same shock the other models use.
    """

    state: np.ndarray  # a_{T+1|T}: level, slope
    state_cov: np.ndarray  # P_{T+1|T}
    sigma2_irregular: float
    sigma2_level: float
    sigma2_slope: float
    residuals: np.ndarray
    name: str = "llt"

    def simulate(self, shocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_paths, horizon = shocks.shape
        transition = np.array([[1.0, 1.0], [0.0, 1.0]])
        state_noise = np.diag([self.sigma2_level, self.sigma2_slope])
        states = np.tile(self.state, (n_paths, 1))
        cov = self.state_cov.copy()
        out = np.empty((n_paths, horizon))
        for step in range(horizon):
            forecast_var = cov[0, 0] + self.sigma2_irregular
            observed = states[:, 0] + np.sqrt(max(forecast_var, 0.0)) * shocks[:, step]
            out[:, step] = observed
            gain = cov[:, 0] / forecast_var if forecast_var > 0 else np.zeros(2)
            filtered = states + np.outer(observed - states[:, 0], gain)
            filtered_cov = cov - np.outer(gain, cov[0, :])
            states = filtered @ transition.T
            cov = transition @ filtered_cov @ transition.T + state_noise
        return out


def fit_llt(y: np.ndarray) -> LocalLinearTrend:
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = UnobservedComponents(y, level="local linear trend").fit(disp=False)
        except _FIT_FAILURES as exc:
            raise ModelFitError(f"local linear trend fit failed: {exc}") from exc
    params = dict(zip(result.model.param_names, np.asarray(result.params, dtype=float)))
    errors = np.asarray(result.forecasts_error[0], dtype=float).copy()
    # The first periods are spent initialising the diffuse level and slope; their "errors" are
    # not forecast errors.
    errors[: int(result.loglikelihood_burn)] = np.nan
    state = np.asarray(result.predicted_state[:, -1], dtype=float)
    cov = np.asarray(result.predicted_state_cov[:, :, -1], dtype=float)
    if not (np.isfinite(state).all() and np.isfinite(cov).all()):
        raise ModelFitError("local linear trend left a non-finite state")
    return LocalLinearTrend(
        state=state,
        state_cov=cov,
        sigma2_irregular=params["sigma2.irregular"],
        sigma2_level=params["sigma2.level"],
        sigma2_slope=params["sigma2.trend"],
        residuals=errors,
    )


# --- Prophet ---------------------------------------------------------------------------------


@dataclass
class ProphetTrend:
    """Prophet's piecewise-linear trend, extrapolated with Prophet's own generative model.

    Future slope changes arrive as a Poisson process at the historical changepoint rate with
    Laplace sizes of the fitted changes' mean magnitude (as `Prophet.sample_predictive_trend`),
    drawn from the series' own generator; the observation noise is driven by the supplied shocks,
    which is how the pair correlation reaches Prophet paths. The trend changes of the two
    countries are independent, so Prophet paths understate the pair correlation.
    """

    level: float  # fitted trend at the last year
    slope: float  # per year, after the last changepoint
    change_rate: float  # expected slope changes per year
    change_scale: float  # Laplace scale of a change, per year²
    sigma: float
    residuals: np.ndarray
    name: str = "prophet"

    def simulate(self, shocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_paths, horizon = shocks.shape
        years_ahead = np.arange(1, horizon + 1, dtype=float)
        trend = self.level + self.slope * years_ahead
        counts = rng.poisson(self.change_rate * horizon, size=n_paths)
        most = int(counts.max(initial=0))
        if most > 0:
            times = rng.uniform(0.0, horizon, size=(n_paths, most))
            sizes = rng.laplace(0.0, self.change_scale, size=(n_paths, most))
            sizes[np.arange(most)[None, :] >= counts[:, None]] = 0.0
            after = np.clip(years_ahead[None, None, :] - times[:, :, None], 0.0, None)
            trend = trend + np.einsum("pc,pch->ph", sizes, after)
        return trend + self.sigma * shocks


def _quiet_prophet_loggers() -> None:
    for noisy in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    # cmdstanpy (Prophet's Stan runner, a dependency of prophet) sets its logger's level on first use; make that
    # happen now, then lower it.
    from cmdstanpy.utils import get_logger

    get_logger().setLevel(logging.CRITICAL)


def fit_prophet(y: np.ndarray) -> ProphetTrend:
    import pandas as pd

    # cmdstanpy logs two INFO lines per fit and Prophet an ERROR about the optional plotly; in a
    # run of hundreds of fits they drown real messages.
    _quiet_prophet_loggers()
    from prophet import Prophet

    n = y.size
    # Prophet's default of 25 candidate changepoints assumes dense data; annual series get one
    # candidate per three years, so a slope change needs a few years of evidence.
    n_changepoints = max(1, min(25, (n - 1) // 3))
    frame = pd.DataFrame(
        {"ds": pd.to_datetime([f"{2000 + i}-01-01" for i in range(n)]), "y": y}
    )
    model = Prophet(
        growth="linear",
        n_changepoints=n_changepoints,
        changepoint_range=0.8,
        changepoint_prior_scale=0.05,
        yearly_seasonality=False,
        weekly_seasonality=False,
        daily_seasonality=False,
        uncertainty_samples=0,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(frame)
    except _FIT_FAILURES as exc:
        raise ModelFitError(f"Prophet fit failed: {exc}") from exc
    # Prophet skips Stan for a constant series and stores 1-d parameters; ravel handles both.
    k = float(np.ravel(model.params["k"])[0])
    offset = float(np.ravel(model.params["m"])[0])
    deltas = np.atleast_2d(np.asarray(model.params["delta"], dtype=float))[0]
    sigma_obs = float(np.ravel(model.params["sigma_obs"])[0])
    changepoints = np.asarray(model.changepoints_t, dtype=float)
    t_history = np.asarray(model.history["t"], dtype=float)
    fitted = Prophet.piecewise_linear(t_history, deltas, k, offset, changepoints) * model.y_scale
    fitted = fitted + np.asarray(model.history["floor"], dtype=float)
    # Prophet's time runs 0..1 over the history; one year is 1/(n-1) of it.
    per_year = 1.0 / (n - 1)
    slope = (k + deltas.sum()) * model.y_scale * per_year
    change_scale = (np.mean(np.abs(deltas)) + 1e-8) * model.y_scale * per_year
    return ProphetTrend(
        level=float(fitted[-1]),
        slope=float(slope),
        change_rate=len(changepoints) * per_year,
        change_scale=float(change_scale),
        sigma=sigma_obs * float(model.y_scale),
        residuals=y - fitted,
    )


FITTERS: dict[str, Callable[[np.ndarray], FittedModel]] = {
    "rw_drift": fit_rw_drift,
    "arima_drift": fit_arima_drift,
    "ets": fit_ets,
    "ets_damped": fit_ets_damped,
    "llt": fit_llt,
    "prophet": fit_prophet,
}


def fit_model(name: str, y: np.ndarray) -> FittedModel:
    """Fit candidate `name` to a gap-free model-scale series; raise ModelFitError if it cannot be."""
    if name not in FITTERS:
        raise ValueError(f"unknown model {name!r}; expected one of {', '.join(FITTERS)}")
    y = np.asarray(y, dtype=float)
    if y.size < MIN_POINTS[name]:
        raise ModelFitError(f"{name} needs at least {MIN_POINTS[name]} points, got {y.size}")
    if not np.isfinite(y).all():
        raise ModelFitError("series has non-finite values")
    return FITTERS[name](y)


@dataclass
class MixtureModel:
    """Several fitted models sharing the paths in proportion to their weights (selection="weighted")."""

    components: list[FittedModel]
    weights: np.ndarray
    residuals: np.ndarray = field(default_factory=lambda: np.array([]))
    name: str = "weighted"

    def simulate(self, shocks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n_paths = shocks.shape[0]
        counts = allocate_paths(self.weights, n_paths)
        # Models are assigned to randomly chosen path indices, not to blocks: path p is paired with
        # path p of the other country and of other indicators, and blocks would line up one
        # model's paths with another indicator's same-model block.
        labels = rng.permutation(np.repeat(np.arange(len(self.components)), counts))
        out = np.empty_like(shocks)
        for index, component in enumerate(self.components):
            chosen = np.flatnonzero(labels == index)
            if chosen.size:
                out[chosen] = component.simulate(shocks[chosen], rng)
        return out


def allocate_paths(weights: np.ndarray, n_paths: int) -> np.ndarray:
    """Whole path counts proportional to weights (largest remainder), summing to n_paths."""
    weights = np.asarray(weights, dtype=float)
    exact = weights / weights.sum() * n_paths
    counts = np.floor(exact).astype(int)
    remainder = n_paths - counts.sum()
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:remainder]] += 1
    return counts
