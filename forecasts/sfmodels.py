"""The statsforecast model classes the registry builds, each fitting a series from its own copy of the values.

statsforecast hands every model a view into one array holding all the series of a call. Some of its numerics
(numpy's SIMD reductions) round differently with the view's 16-byte alignment, that is with how many values the
series before it in the call hold: the same series could get forecasts differing in the 15th digit depending on its
batch-mates, on `n_jobs`, or on which executor partition it landed in. A fresh copy is always aligned alike, so a
series' fit depends on that series alone (`tests/forecasts/test_executors.py` holds the executors to it).

AutoETS's normal prediction intervals for the additive-error, non-seasonal forms (ANN, AAN, AAdN: all the
registry asks for) are computed here from the fitted parameters with the closed-form variances of Hyndman et al.
(2008, "Forecasting with exponential smoothing", table 6.1, class 1), the formulas statsforecast itself evaluates:
its own route builds a scipy distribution object per series, which cost as much as the fit (about 1 ms of a 2 ms
fit-and-forecast). `tests/forecasts/test_models.py` holds the two to the same intervals; any other form takes
statsforecast's own route.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from statsforecast.ets import ets_f, forecast_ets, forward_ets  # the functions AutoETS's methods call
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive


def _copy(y) -> np.ndarray:
    return np.array(y, dtype=np.float64, copy=True)


class _OwnCopy:
    # statsforecast reads the signature (whether `level` is accepted), so it is spelled out as the models' own.
    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        return super().forecast(_copy(y), h, X=X, X_future=X_future, level=level, fitted=fitted)

    def fit(self, y, X=None):
        return super().fit(_copy(y), X=X)

    def forward(self, y, h, X=None, X_future=None, level=None, fitted=False):
        return super().forward(_copy(y), h, X=X, X_future=X_future, level=level, fitted=fitted)


def class1_variance(components: str, par, sigma2: float, h: int) -> np.ndarray | None:
    """Forecast variance at steps 1..h of an additive-error ETS without seasonality; None for any other form.

    With v = σ², steps h = 1..H:
    ANN  v[1 + α²(h−1)];
    AAN  v[1 + (h−1)(α² + αβh + β²h(2h−1)/6)];
    AAdN v[1 + α²(h−1) + βφh(2α(1−φ) + βφ)/(1−φ)² − βφ(1−φʰ)(2α(1−φ²) + βφ(1 + 2φ − φʰ))/((1−φ)²(1−φ²))].
    `components` is the fitted model's (error, trend, season, damped) code, `par` its (α, β, γ, φ)."""
    error, trend, season, damped = components[:4]
    if error != "A" or season != "N":
        return None
    alpha, beta, _, phi = (float(p) if p is not None else np.nan for p in par[:4])
    steps = np.arange(1, h + 1, dtype=float)
    if trend == "N":
        factor = 1 + alpha**2 * (steps - 1)
    elif trend == "A" and damped == "N":
        factor = 1 + (steps - 1) * (alpha**2 + alpha * beta * steps + beta**2 * steps * (2 * steps - 1) / 6)
    elif trend == "A" and damped == "D":
        factor = (1 + alpha**2 * (steps - 1)
                  + beta * phi * steps / (1 - phi) ** 2 * (2 * alpha * (1 - phi) + beta * phi)
                  - beta * phi * (1 - phi**steps) / ((1 - phi) ** 2 * (1 - phi**2))
                  * (2 * alpha * (1 - phi**2) + beta * phi * (1 + 2 * phi - phi**steps)))
    else:
        return None
    return sigma2 * factor


class CopyingAutoETS(_OwnCopy, AutoETS):
    def _closed_form(self, level, fitted) -> bool:
        return level is not None and not fitted and self.prediction_intervals is None and self.distribution == "normal"

    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        if self._closed_form(level, fitted):
            model = ets_f(_copy(y), m=self.season_length, model=self.model, damped=self.damped, phi=self.phi,
                          distribution=self.distribution)
            out = _with_intervals(model, h, level)
            if out is not None:
                return out
        return super().forecast(y, h, X=X, X_future=X_future, level=level, fitted=fitted)

    def forward(self, y, h, X=None, X_future=None, level=None, fitted=False):
        if self._closed_form(level, fitted) and hasattr(self, "model_"):
            out = _with_intervals(forward_ets(self.model_, y=_copy(y)), h, level)
            if out is not None:
                return out
        return super().forward(y, h, X=X, X_future=X_future, level=level, fitted=fitted)


def _with_intervals(model: dict, h: int, level) -> dict | None:
    """A fitted ETS model's mean and normal intervals from `class1_variance` (None for a form it does not cover)."""
    variance = class1_variance(model["components"], model["par"], model["sigma2"], h)
    if variance is None:
        return None
    mean = forecast_ets(model, h=h)["mean"]
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(variance)
    out = {"mean": mean}
    for lv in sorted(level, reverse=True):
        out[f"lo-{lv}"] = mean - ndtri(0.5 + lv / 200) * sd
    for lv in sorted(level):
        out[f"hi-{lv}"] = mean + ndtri(0.5 + lv / 200) * sd
    return out


class CopyingAutoTheta(_OwnCopy, AutoTheta):
    pass


class CopyingAutoARIMA(_OwnCopy, AutoARIMA):
    pass


class CopyingNaive(_OwnCopy, Naive):
    pass
