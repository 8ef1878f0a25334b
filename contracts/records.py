"""Typed records that `forecasts/` and `indicators/` produce, `db/` stores and the CLI, API, dashboard and report
consume without reshaping: one forecast row, one crossover row, one dimension score row."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from contracts.intervals import INTERVAL_COLUMNS

SubjectKind = Literal["indicator", "dimension"]
SUBJECT_KINDS: tuple[str, ...] = ("indicator", "dimension")

CrossoverStatus = Literal["already_crossed", "likely_crossed", "projected", "not_within_horizon", "insufficient_data"]
CROSSOVER_STATUSES: tuple[str, ...] = (
    "already_crossed", "likely_crossed", "projected", "not_within_horizon", "insufficient_data",
)
# P(by year) is always reported for these years, whatever the subject (DESIGN §3: comparable across rows).
REPORT_YEARS: tuple[int, ...] = (2030, 2035)
# One horizon year for every subject's crossover, so that statuses and P(by year) compare across rows.
COMMON_HORIZON_YEAR = 2040


# A series is stale when its latest data are older than twice its cadence: a year's value is published about a year
# after it ends, so the data of `data_end_year` are "age" current_year − data_end_year − 1 years old.
STALE_CADENCES = 2


def is_stale(data_end_year: int | None, cadence_days: int, current_year: int) -> bool:
    """True when the latest year of data is older than STALE_CADENCES × the source's cadence allows."""
    if data_end_year is None:
        return False
    age_days = (current_year - data_end_year - 1) * 365
    return age_days > STALE_CADENCES * cadence_days


@dataclass(frozen=True)
class ForecastRow:
    """One year of one country's (or a dimension's) forecast: `mean` is the median of the sample paths."""

    subject: str
    subject_kind: SubjectKind
    pair: str
    country: str
    model: str
    year: int
    mean: float
    lo_80: float
    hi_80: float
    lo_95: float
    hi_95: float
    nowcast: bool = False  # a year already past whose data are not yet published
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CrossoverRow:
    """When (if ever) the trailing side passes the leader, as a first-passage distribution over years.

    `leader_now` is the side ahead in `data_end_year`; the first-passage fields describe the trailing side passing
    it (for `already_crossed`, where the challenger leads, the incumbent passing it back). `likely_crossed`: that
    passing has more likely than not already happened by the current year, unobserved (its median year is then at or
    before now). Years are calendar years; a bound beyond the horizon is None (its probability mass is
    `p_after_horizon`).
    """

    subject: str
    subject_kind: SubjectKind
    pair: str
    status: CrossoverStatus
    leader_now: str | None = None
    leader_since: int | None = None
    data_end_year: int | None = None  # last year both sides are observed
    last_crossing_year: int | None = None
    historical_crossings: tuple[int, ...] = ()
    median_year: int | None = None
    lo_80: int | None = None
    hi_80: int | None = None
    lo_95: int | None = None
    hi_95: int | None = None
    p_by: dict[int, float | None] = field(default_factory=dict)
    p_after_horizon: float | None = None
    p_crossed_by_now: float | None = None
    horizon: int | None = None  # the last year the paths reach (the common horizon year)
    n_paths: int = 0
    model: str = ""
    stale: bool = False
    notes: tuple[str, ...] = ()
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["historical_crossings"] = list(self.historical_crossings)
        out["notes"] = list(self.notes)
        out["p_by"] = {str(year): p for year, p in self.p_by.items()}
        return out

    @classmethod
    def from_mapping(cls, row: dict[str, Any]) -> "CrossoverRow":
        """A stored or JSON row back into the record (p_by keys as ints, lists as tuples); unknown keys ignored."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in names}
        p_by = values.get("p_by") or {}
        values["p_by"] = {int(k): (None if v is None else float(v)) for k, v in dict(p_by).items()}
        values["historical_crossings"] = tuple(values.get("historical_crossings") or ())
        values["notes"] = tuple(values.get("notes") or ())
        values["stale"] = bool(values.get("stale") or False)
        return cls(**values)


@dataclass(frozen=True)
class DimensionScoreRow:
    """A dimension's score for one year: the challenger's weighted share of the pair (0.5 parity)."""

    dimension: str
    pair: str
    year: int
    status: Literal["ok", "insufficient_data"]
    score: float | None = None
    lo_80: float | None = None
    hi_80: float | None = None
    lo_95: float | None = None
    hi_95: float | None = None
    n_present: int = 0
    n_indicators: int = 0
    weight_present: float = 0.0  # share of the nominal weight with data (measured + nowcast)
    weight_nowcast: float = 0.0  # of which entered as a nowcast (the member's forecast for a missing year)
    leader: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


assert set(INTERVAL_COLUMNS) <= {f.name for f in fields(ForecastRow)}
