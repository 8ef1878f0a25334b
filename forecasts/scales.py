"""Model scales: original-scale values in, log/logit/level model-scale values out (and back)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

SeriesScale = Literal["log", "logit", "level"]

# Keeps exp() of simulated log paths finite; e^700 is ~1e304, far beyond any real count or sum.
_LOG_CLIP = 700.0
# Share of the bounded range kept clear of each bound, so a reported 0 % or 100 % stays finite
# on the logit scale instead of becoming ±inf.
_LOGIT_EDGE = 1e-4


@dataclass(frozen=True)
class ScaleTransform:
    """A fitted, invertible map between original values and the scale the models work on."""

    scale: SeriesScale
    offset: float = 0.0  # log scale: added before the log when the series has zeros
    lower: float = 0.0  # logit scale: the bounds of the original values
    upper: float = 1.0
    clip: bool = False  # level scale with bounds: back-transformed values are held inside them

    def forward(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.scale == "log":
            return np.log(values + self.offset)
        if self.scale == "logit":
            share = (values - self.lower) / (self.upper - self.lower)
            share = np.clip(share, _LOGIT_EDGE, 1.0 - _LOGIT_EDGE)
            return np.log(share) - np.log1p(-share)
        return values.copy()

    def inverse(self, model_values: np.ndarray) -> np.ndarray:
        model_values = np.asarray(model_values, dtype=float)
        if self.scale == "log":
            values = np.exp(np.clip(model_values, -_LOG_CLIP, _LOG_CLIP))
            # With an offset, exp(x) − c can dip below zero; a count or a sum cannot.
            return np.maximum(values - self.offset, 0.0) if self.offset else values
        if self.scale == "logit":
            share = 1.0 / (1.0 + np.exp(-np.clip(model_values, -_LOG_CLIP, _LOG_CLIP)))
            return self.lower + share * (self.upper - self.lower)
        if self.clip:
            return np.clip(model_values, self.lower, self.upper)
        return model_values.copy()


def fit_transform(
    values: np.ndarray, scale: SeriesScale, bounds: tuple[float, float] | None = None
) -> tuple[ScaleTransform, list[str]]:
    """Choose the transform's parameters from one series; return it and any warnings.

    A log series with zeros gets an offset of half its smallest positive value (a zero count of
    AI bills or supercomputers is real data, not a missing value); a log series with negative
    values cannot be logged and falls back to the level scale. A logit series without explicit
    bounds is taken as a 0–1 share if it never exceeds 1, else as a 0–100 percentage.
    """
    values = np.asarray(values, dtype=float)
    warnings: list[str] = []
    if scale == "log":
        if (values < 0).any():
            warnings.append("negative values cannot be logged; modelled on the level scale")
            return ScaleTransform("level"), warnings
        if (values == 0).any():
            positive = values[values > 0]
            offset = 0.5 * float(positive.min()) if positive.size else 1.0
            warnings.append(f"zeros in a log-scale series; modelled as log(value + {offset:g})")
            return ScaleTransform("log", offset=offset), warnings
        return ScaleTransform("log"), warnings
    if scale == "logit":
        if bounds is None:
            bounds = (0.0, 1.0) if values.max(initial=0.0) <= 1.0 else (0.0, 100.0)
        lower, upper = float(bounds[0]), float(bounds[1])
        if not upper > lower:
            raise ValueError(f"logit bounds must be increasing, got {bounds}")
        if ((values < lower) | (values > upper)).any():
            raise ValueError(f"values outside the logit bounds {bounds}")
        return ScaleTransform("logit", lower=lower, upper=upper), warnings
    if scale == "level":
        if bounds is not None:
            # A score's range (V-Dem 0–1, Freedom House 0–100) is a hard limit: a path that wanders
            # past it is held at the bound rather than reported as an impossible score.
            return ScaleTransform("level", lower=float(bounds[0]), upper=float(bounds[1]), clip=True), warnings
        return ScaleTransform("level"), warnings
    raise ValueError(f"unknown scale {scale!r}; expected log, logit or level")
