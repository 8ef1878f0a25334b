"""The model registry: every candidate forecasting model once, with its alias, minimum length and how it is fitted.

A model is fitted in batch by its `engine`:
- "statsforecast": a statsforecast model class built by `factory()`, fitted over a long `unique_id, ds, y` frame;
- "closed_form": a numpy function over many series at once (exact; microseconds per series);
- "combination": the mean of other registered models' forecasts (and of their spreads);
- "prophet": Prophet, one Stan fit per series (available on request, off the default path: see docs/forecasting.md).

Each returns, per series and step ahead, a point forecast and a predictive standard deviation on the model scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

Engine = Literal["statsforecast", "closed_form", "combination", "prophet"]


@dataclass(frozen=True)
class ModelSpec:
    alias: str
    min_points: int  # fewer training points and the model is not fitted to that series (or origin)
    engine: Engine
    description: str
    factory: Callable[[], object] | None = None  # statsforecast: builds the model object (alias set)
    components: tuple[str, ...] = field(default_factory=tuple)  # combination: the models it averages
    # False: the model's point forecast is used with the random walk with drift's sd of the same window (the
    # backtest calibration rescales it); for a model whose own intervals cost more than its fit.
    own_spread: bool = True


def _ets():
    from forecasts.sfmodels import CopyingAutoETS as AutoETS

    # Additive errors on the model scale (the log or logit transform is chosen by the backtest, not by ETS's
    # multiplicative forms); trend none, additive or damped additive, chosen by AICc.
    return AutoETS(model="AZN", alias="ets")


def _ses():
    from forecasts.sfmodels import CopyingAutoETS as AutoETS

    return AutoETS(model="ANN", alias="ses")


def _theta():
    from forecasts.sfmodels import CopyingAutoTheta as AutoTheta

    return AutoTheta(alias="theta")


def _auto_arima():
    from forecasts.sfmodels import CopyingAutoARIMA as AutoARIMA

    return AutoARIMA(seasonal=False, alias="auto_arima")


_SPECS = (
    ModelSpec("naive", 2, "closed_form", "random walk, no trend: the last value carried forward"),
    ModelSpec("rw_drift", 3, "closed_form", "random walk with drift (statsforecast RandomWalkWithDrift, exact)"),
    ModelSpec("ses", 7, "statsforecast", "simple exponential smoothing, ETS(A,N,N) (statsforecast AutoETS 'ANN')",
              _ses),
    ModelSpec("ets", 7, "statsforecast", "AutoETS: additive error, no / additive / damped trend by AICc", _ets),
    # statsforecast simulates AutoTheta's intervals (two thirds of its cost here): its spread is borrowed.
    ModelSpec("theta", 5, "statsforecast", "AutoTheta: standard, optimised and dynamic Theta by MSE", _theta,
              own_spread=False),
    ModelSpec("arima", 6, "closed_form", "ARIMA(1,1,0) with drift by conditional least squares (closed form)"),
    ModelSpec("comb", 7, "combination", "mean of the ets, arima and theta forecasts; median of their sds",
              components=("ets", "arima", "theta")),
    ModelSpec("auto_arima", 8, "statsforecast",
              "statsforecast AutoARIMA (stepwise, non-seasonal); 40–200 ms a fit, so off the default path",
              _auto_arima),
    ModelSpec("prophet", 5, "prophet", "Prophet, linear growth, no seasonality; one Stan fit per series"),
)
REGISTRY: dict[str, ModelSpec] = {spec.alias: spec for spec in _SPECS}

# The default candidates, simplest first (ties in the backtest go to the earlier model). ets and arima enter
# through the combination; alone (and ses) they lowered accuracy on the public benchmark when weighted in
# (docs/benchmark.md, "Choices"), so they are registered but off the default list.
DEFAULT_MODELS: tuple[str, ...] = ("naive", "rw_drift", "theta", "comb")
# What a series too short for a backtest is forecast with.
SHORT_SERIES_MODELS: tuple[str, ...] = ("rw_drift", "naive")


def spec(alias: str) -> ModelSpec:
    if alias not in REGISTRY:
        raise ValueError(f"unknown model {alias!r}; expected one of {', '.join(REGISTRY)}")
    return REGISTRY[alias]


def expand(models: tuple[str, ...]) -> tuple[str, ...]:
    """The models to fit for these candidates: each combination's components are fitted too."""
    out: list[str] = []
    for alias in models:
        for needed in (*spec(alias).components, alias):
            if needed not in out:
                out.append(needed)
    return tuple(out)


def usable(models: tuple[str, ...], n_points: int) -> tuple[str, ...]:
    """The candidates that can be fitted on `n_points` (a combination needs every component)."""
    return tuple(
        m for m in models
        if spec(m).min_points <= n_points and all(spec(c).min_points <= n_points for c in spec(m).components)
    )
