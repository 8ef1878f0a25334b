"""Prediction-interval levels (fixed project-wide at 80 and 95) and every name generated from them."""

from __future__ import annotations

LEVELS: tuple[int, ...] = (80, 95)


def lower(level: int) -> str:
    return f"lo_{level}"


def upper(level: int) -> str:
    return f"hi_{level}"


# Database / API / record columns, outermost last: lo_80, hi_80, lo_95, hi_95.
INTERVAL_COLUMNS: tuple[str, ...] = tuple(name for level in LEVELS for name in (lower(level), upper(level)))
# The point forecast column: the median of the sample paths (documented in docs/forecasting.md).
POINT = "mean"
FORECAST_VALUE_COLUMNS: tuple[str, ...] = (POINT, *INTERVAL_COLUMNS)

# Quantile probabilities, ascending: lo_95, lo_80, median, hi_80, hi_95.
QUANTILE_NAMES: tuple[str, ...] = (
    *(lower(level) for level in sorted(LEVELS, reverse=True)),
    POINT,
    *(upper(level) for level in sorted(LEVELS)),
)
QUANTILE_PROBS: tuple[float, ...] = (
    *((100 - level) / 200 for level in sorted(LEVELS, reverse=True)),
    0.5,
    *(1 - (100 - level) / 200 for level in sorted(LEVELS)),
)
QUANTILE_OF: dict[str, float] = dict(zip(QUANTILE_NAMES, QUANTILE_PROBS))


def statsforecast_column(model: str, bound: str) -> str:
    """'lo_80' of model 'AutoETS' → statsforecast's 'AutoETS-lo-80'; 'mean' → 'AutoETS'."""
    if bound == POINT:
        return model
    side, level = bound.split("_")
    return f"{model}-{side}-{level}"


def nested(values: dict[str, float], tolerance: float = 0.0) -> bool:
    """lo_95 ≤ lo_80 ≤ mean ≤ hi_80 ≤ hi_95 (the forecast contract)."""
    ordered = [values[name] for name in QUANTILE_NAMES]
    return all(a <= b + tolerance for a, b in zip(ordered, ordered[1:]))
