"""Model scales and bounds: original values and a series' bounds in, the candidate scales' invertible transforms out.

A bound is a hard limit of the quantity (a count or a sum cannot be negative; a percentage lies in 0–100; the
TOP500 list has 500 places): every transform's inverse lands inside it, so no path or interval leaves it.
- level: the values themselves; a distribution around a median approaches a bound multiplicatively
  (`inverse_around`: level near the median, never reaching the bound), a single value is clipped into the bounds;
- log: log(value − lower + offset) for series with a lower bound (or all values positive); the inverse is
  clipped below the upper bound, if any;
- logit: log-odds of the share of the bounded range, for series bounded on both sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

SeriesScale = Literal["log", "logit", "level"]
SCALES: tuple[str, ...] = ("level", "log", "logit")

# Keeps exp() of simulated log paths finite; e^700 is ~1e304, far beyond any real count or sum.
_LOG_CLIP = 700.0
# inverse_around: a level-scale spread stays linear down to this share of the median's distance to a bound
# (0.25 leaves the as-of backtest's coverage on the snapshot unchanged; 0.5 and 1 cost 80 % coverage at 3-6 years).
LEVEL_TAIL_START = 0.25
# Share of the bounded range kept clear of each bound, so that a reported 0 % or 100 % stays finite on the
# logit scale instead of becoming ±inf.
_LOGIT_EDGE = 1e-4


@dataclass(frozen=True)
class Bounds:
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        if self.lower is not None and self.upper is not None and not self.upper > self.lower:
            raise ValueError(f"bounds must be increasing, got ({self.lower}, {self.upper})")

    @classmethod
    def of(cls, bounds) -> "Bounds":
        if bounds is None:
            return cls()
        if isinstance(bounds, Bounds):
            return bounds
        lower, upper = bounds
        return cls(None if lower is None else float(lower), None if upper is None else float(upper))

    def clip(self, values: np.ndarray) -> np.ndarray:
        lo = -np.inf if self.lower is None else self.lower
        hi = np.inf if self.upper is None else self.upper
        return np.clip(values, lo, hi)

    def contains(self, values: np.ndarray) -> bool:
        values = np.asarray(values, dtype=float)
        return bool((self.lower is None or (values >= self.lower).all())
                    and (self.upper is None or (values <= self.upper).all()))

    @property
    def is_bounded(self) -> bool:
        return self.lower is not None or self.upper is not None


@dataclass(frozen=True)
class ScaleTransform:
    """A fitted, invertible map between original values and the scale the models work on."""

    scale: SeriesScale
    bounds: Bounds = Bounds()
    offset: float = 0.0  # log scale: added (after subtracting the lower bound) when the series touches it

    def forward(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        lower = self.bounds.lower or 0.0
        if self.scale == "log":
            return np.log(np.maximum(values - lower + self.offset, 1e-300))
        if self.scale == "logit":
            share = (values - self.bounds.lower) / (self.bounds.upper - self.bounds.lower)
            share = np.clip(share, _LOGIT_EDGE, 1.0 - _LOGIT_EDGE)
            return np.log(share) - np.log1p(-share)
        return values.copy()

    def inverse(self, model_values: np.ndarray) -> np.ndarray:
        model_values = np.asarray(model_values, dtype=float)
        if self.scale == "log":
            values = np.exp(np.clip(model_values, -_LOG_CLIP, _LOG_CLIP)) - self.offset + (self.bounds.lower or 0.0)
        elif self.scale == "logit":
            share = 1.0 / (1.0 + np.exp(-np.clip(model_values, -_LOG_CLIP, _LOG_CLIP)))
            values = self.bounds.lower + share * (self.bounds.upper - self.bounds.lower)
        else:
            values = model_values.copy()
        # Round-off in the inverse (and the level scale) must not step outside a hard bound.
        return self.bounds.clip(values)

    def inverse_around(self, model_values: np.ndarray, median: np.ndarray) -> np.ndarray:
        """Model-scale draws or quantiles around a per-step `median` (broadcast along the last axis) to the original
        scale; on the level scale a spread that approaches a bound bends into an exponential tail before it.

        A symmetric level-scale spread that reaches past a bound would pile its tail up on the bound — a 95 %
        lower bound of 0 papers for a country publishing 100,000 a year. Below x0 = L + a·(m − L), with m the
        median and a = LEVEL_TAIL_START, a draw x maps to L + a·(m − L)·exp((x − x0)/(a·(m − L))), and the same
        mirrored toward an upper bound U: value and slope are unchanged at x0, so everything between the median
        and x0 stays on the level scale, and the tail approaches the bound ever more slowly instead of reaching
        it. The log and logit scales need no such care.
        """
        if self.scale != "level" or not self.bounds.is_bounded:
            return self.inverse(model_values)
        x = np.asarray(model_values, dtype=float)
        m = self.bounds.clip(np.broadcast_to(np.asarray(median, dtype=float), x.shape))
        out = x.copy()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.bounds.lower is not None:
                room = LEVEL_TAIL_START * (m - self.bounds.lower)
                x0 = self.bounds.lower + room
                below = (x < x0) & (room > 0)
                out = np.where(below, self.bounds.lower + room * np.exp((x - x0) / np.where(room > 0, room, 1.0)), out)
            if self.bounds.upper is not None:
                room = LEVEL_TAIL_START * (self.bounds.upper - m)
                x0 = self.bounds.upper - room
                above = (x > x0) & (room > 0)
                out = np.where(above, self.bounds.upper - room * np.exp((x0 - x) / np.where(room > 0, room, 1.0)), out)
        return self.bounds.clip(out)

def candidate_transforms(
    values: np.ndarray, bounds: Bounds, fixed: SeriesScale | None = None, preferred: SeriesScale | None = None
) -> tuple[list[ScaleTransform], list[str]]:
    """The scales the backtest chooses between for this series, preferred first, and any warnings.

    Both bounds: logit and level. A lower bound only (counts, money): log and level. No bound: level, and log
    when every value is positive. A log series that touches its lower bound (a zero count) is modelled as
    log(value − lower + c) with c half its smallest positive distance from the bound. `fixed` (an imported
    series' own `scale`) leaves one candidate; a scale the values cannot take falls back with a warning.
    """
    values = np.asarray(values, dtype=float)
    notes: list[str] = []
    if not bounds.contains(values):
        raise ValueError(f"values outside the bounds ({bounds.lower}, {bounds.upper})")
    options: list[SeriesScale] = []
    if bounds.lower is not None and bounds.upper is not None:
        options = ["logit", "level"]
    elif bounds.lower is not None:
        options = ["log", "level"]
    else:
        options = ["level", "log"] if (values > 0).all() else ["level"]
    if fixed is not None:
        if fixed not in options:
            notes.append(f"scale {fixed} does not fit these values and bounds; chosen by the backtest instead")
        else:
            options = [fixed]
    elif preferred in options:
        options = [preferred] + [o for o in options if o != preferred]
    transforms = []
    for scale in options:
        if scale == "log":
            log_bounds = bounds if bounds.lower is not None else Bounds(0.0, bounds.upper)
            distance = values - (log_bounds.lower or 0.0)
            offset = 0.0
            if (distance <= 0).any():
                positive = distance[distance > 0]
                offset = 0.5 * float(positive.min()) if positive.size else 1.0
                notes.append(f"values at the lower bound; log scale is log(value − {log_bounds.lower:g} + {offset:g})")
            transforms.append(ScaleTransform("log", log_bounds, offset))
        else:
            transforms.append(ScaleTransform(scale, bounds))
    return transforms, notes
