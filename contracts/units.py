"""Units an observation can carry: each unit's physical range (the sign and range rule every writer enforces) and
the scale and bounds a forecast starts from. Indicator-specific limits (a list of 500, 193 UN members) are the
catalog's `bounds`; these are the limits of the unit itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scale = Literal["level", "log", "logit"]


@dataclass(frozen=True)
class UnitSpec:
    name: str
    family: Literal["count", "money", "rate", "percent", "share", "score", "other"]
    lower: float | None  # values below are impossible (counts and money never go negative)
    upper: float | None
    default_scale: Scale  # the scale a forecast tries first; the backtest may choose another

    def contains(self, value: float) -> bool:
        return (self.lower is None or value >= self.lower) and (self.upper is None or value <= self.upper)

    @property
    def bounds(self) -> tuple[float, float] | None:
        """Both ends, when the unit has both (percentages and shares): the limits of a logit scale."""
        if self.lower is None or self.upper is None:
            return None
        return (self.lower, self.upper)


UNITS: dict[str, UnitSpec] = {
    spec.name: spec
    for spec in (
        UnitSpec("count", "count", 0.0, None, "log"),
        UnitSpec("people", "count", 0.0, None, "log"),
        UnitSpec("usd", "money", 0.0, None, "log"),
        UnitSpec("usd_ppp", "money", 0.0, None, "log"),
        UnitSpec("usd_const", "money", 0.0, None, "log"),
        UnitSpec("usd_million", "money", 0.0, None, "log"),
        UnitSpec("usd_ppp_million", "money", 0.0, None, "log"),
        UnitSpec("per_million", "rate", 0.0, None, "log"),
        UnitSpec("pct", "percent", 0.0, 100.0, "logit"),
        UnitSpec("pct_gdp", "percent", 0.0, 100.0, "logit"),
        UnitSpec("share", "share", 0.0, 1.0, "logit"),
        UnitSpec("score", "score", None, None, "level"),
    )
}


def unit_spec(unit: str) -> UnitSpec:
    """The spec of a known unit; any other unit (an analyst's own) has no range rule and a level scale."""
    return UNITS.get(unit) or UnitSpec(unit, "other", None, None, "level")
