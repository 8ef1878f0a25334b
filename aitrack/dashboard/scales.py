"""Values in, a chart's axes out: the scale (log only where the observed values span orders of magnitude), the value
domain (the observations always readable; a forecast band may widen it only so far, and is clipped beyond), the ticks
(only inside the range the data use) and the data → SVG coordinate mapping. Pure functions, no I/O."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

# Log axis when every observed value is positive and they span at least this many decades.
LOG_DECADES = 2.0
# How far a forecast band may stretch the axis beyond the observed values before it is clipped: on a linear axis by
# this multiple of the observed span, on a log axis by this factor.
LINEAR_STRETCH = 0.75
LOG_STRETCH = 10.0
# A linear axis of non-negative values starts at zero when the smallest value is within this share of the largest.
ZERO_BASELINE_SHARE = 0.25
# Units whose values cannot be negative: their linear axis never goes below zero.
NON_NEGATIVE_UNITS = ("count", "people", "usd", "usd_ppp", "usd_const", "usd_million", "usd_ppp_million",
                      "per_million", "pct", "pct_gdp", "share", "bn_cny", "bn_usd")  # fmt: skip
BOUNDED_UNITS = {"share": (0.0, 1.0), "pct": (0.0, 100.0), "pct_gdp": (0.0, 100.0)}


def use_log(observed: Sequence[float]) -> bool:
    """A log axis only where the observed values (not the forecast) are all positive and span ≥ 2 decades."""
    values = [v for v in observed if math.isfinite(v)]
    if len(values) < 2 or min(values) <= 0 or min(values) < 1e-300:
        return False
    return math.log10(max(values) / min(values)) >= LOG_DECADES


@dataclass(frozen=True)
class Domain:
    lo: float
    hi: float
    log: bool
    clipped: bool  # part of the forecast band lies outside [lo, hi]


def value_domain(observed: Sequence[float], forecast: Sequence[float], *, unit: str = "", log: bool = False,
                 reference: float | None = None) -> Domain:  # fmt: skip
    """The value range a chart shows: every observed value, and the forecast as far as the stretch allows."""
    observed = [v for v in observed if math.isfinite(v)]
    forecast = [v for v in forecast if math.isfinite(v)]
    if reference is not None:
        observed = [*observed, reference]
    if log:
        observed = [v for v in observed if v > 0]
        forecast = [v for v in forecast if v > 0]
    core = observed or forecast
    if not core:
        return Domain(0.0, 1.0, False, False)
    lo, hi = min(core), max(core)
    clipped = False
    if forecast and observed:
        if log:
            cap_lo, cap_hi = lo / LOG_STRETCH, hi * LOG_STRETCH
        else:
            base = min(lo, 0.0) if lo >= 0 and lo <= ZERO_BASELINE_SHARE * hi else lo
            span = (hi - base) or abs(hi) or 1.0
            cap_lo, cap_hi = lo - 0.5 * LINEAR_STRETCH * span, hi + LINEAR_STRETCH * span
        clipped = min(forecast) < cap_lo or max(forecast) > cap_hi
        lo, hi = min(lo, max(min(forecast), cap_lo)), max(hi, min(max(forecast), cap_hi))
    if not log:
        if unit in NON_NEGATIVE_UNITS and lo < 0 <= min(core):
            clipped = clipped or bool(forecast and min(forecast) < 0)
            lo = 0.0
        if lo >= 0 and lo <= ZERO_BASELINE_SHARE * hi:
            lo = 0.0
        bounds = BOUNDED_UNITS.get(unit)
        if bounds is not None and bounds[0] <= min(core) and max(core) <= bounds[1]:
            clipped = clipped or bool(forecast and (min(forecast) < bounds[0] or max(forecast) > bounds[1]))
            lo, hi = max(lo, bounds[0]), min(hi, bounds[1])
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi)) or hi - lo < sys.float_info.min:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = (lo / 2, lo * 2) if log else (lo - pad, hi + pad)
    return Domain(lo, hi, log, clipped)


# ---------------------------------------------------------------------------------------------- ticks
def nice_step(span: float, target: int = 5) -> float:
    """A 1-2-2.5-5 step that cuts `span` into about `target` intervals."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target, 1)
    if raw < sys.float_info.min:  # subnormal: log10 would lose its meaning (or fail at 0)
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power * (1 + 1e-9):
            return multiple * power
    return 10 * power


def linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Ticks on a nice grid, the first ≤ lo and the last ≥ hi by less than one step (the axis widens to them)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi)) or hi - lo < sys.float_info.min:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, target)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    if last == first:
        last += 1
    return [k * step + 0.0 for k in range(first, last + 1)]


MANTISSAS = ((1.0,), (1.0, 3.0), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0))


def log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks of a log axis over [lo, hi] (both > 0), all inside it: powers of ten for a wide range, 1-3 or 1-2-5
    multiples for a narrower one; never a decade the data do not reach."""
    if lo <= 0 or hi <= 0:
        raise ValueError("a log axis needs positive bounds")
    if hi < lo:
        lo, hi = hi, lo
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for mantissas in MANTISSAS:
        ticks = [m * 10.0**p for p in range(first, last + 1) for m in mantissas]
        inside = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(inside) >= 3 or (mantissas is MANTISSAS[-1] and len(inside) >= 2):
            return inside[:: max(1, math.ceil(len(inside) / 8))]
    return [lo, hi]  # a narrow range with no round number inside: its own ends


def axis(domain: Domain, target: int = 5) -> tuple[float, float, list[float]]:
    """(axis lo, axis hi, ticks): a linear axis widens to its nice ticks; a log axis keeps the domain."""
    if domain.log:
        return domain.lo, domain.hi, log_ticks(domain.lo, domain.hi)
    ticks = linear_ticks(domain.lo, domain.hi, target)
    return ticks[0], ticks[-1], ticks


def year_ticks(first: int, last: int, target: int = 10) -> list[int]:
    span = max(last - first, 1)
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100) if span / s <= target), 100)
    start = math.ceil(first / step) * step
    return list(range(start, last + 1, step)) or [first]


# ---------------------------------------------------------------------------------------------- coordinates
@dataclass(frozen=True)
class Frame:
    """Data coordinates → SVG coordinates for one chart (values outside the axis are clamped to its edge)."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    log: bool
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    def x(self, year: float) -> float:
        span = (self.x_hi - self.x_lo) or 1.0
        return self.left + (year - self.x_lo) / span * (self.width - self.left - self.right)

    def y(self, value: float) -> float:
        if self.log:
            lo, hi = math.log10(self.y_lo), math.log10(self.y_hi)
            value = math.log10(min(max(value, self.y_lo), self.y_hi))
        else:
            lo, hi = self.y_lo, self.y_hi
            value = min(max(value, lo), hi)
        span = (hi - lo) or 1.0
        return self.height - self.bottom - (value - lo) / span * (self.height - self.top - self.bottom)

    def inside(self, value: float) -> bool:
        return self.y_lo <= value <= self.y_hi
