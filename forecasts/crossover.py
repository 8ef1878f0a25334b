"""Crossovers: a pair's history and joint sample paths in, the first-passage year distribution out.

The crossover year is the first simulated year in which the trailing side's path exceeds the leader's, path by
path — not the year two mean lines cross. Every subject is read at one common horizon year (DESIGN §3, round 2)
so that statuses and P(by year) compare across rows; paths that have not crossed by then are censored (their
share is `p_after_horizon`, and a quantile that falls in that mass is None). "Now" is a parameter: the share of
paths that crossed by the current year, unobserved because the data end earlier, is `p_crossed_by_now`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np
import polars as pl

from contracts.intervals import POINT, QUANTILE_OF
from contracts.pair import DEFAULT_PAIR, pair_label
from contracts.records import COMMON_HORIZON_YEAR, REPORT_YEARS, CrossoverRow, CrossoverStatus, SubjectKind

# Fewer common years than this and who leads, and since when, is not worth stating.
MIN_COMMON_YEARS = 3
# first-passage CDF levels of the reported quantiles: the project's interval levels (the median is `median_year`)
_LEVELS = {("median_year" if name == POINT else name): p for name, p in QUANTILE_OF.items()}


@dataclass
class Crossover:
    """When (if ever) the trailing side passes the leader: the fields of contracts.records.CrossoverRow.

    `leader_now` is the side ahead in `data_end_year`, the last year both are observed. For `already_crossed`
    the challenger (pair[0]) leads there and the first-passage fields describe the incumbent passing it back.
    For `likely_crossed` the side ahead in `data_end_year` (either one) has, on at least half of the paths, been
    passed by the other by the current year; the first-passage fields are that passing (its median year is then
    at or before the current year).
    """

    subject: str
    pair: str
    status: CrossoverStatus
    leader_now: str | None = None
    subject_kind: SubjectKind = "indicator"
    leader_since: int | None = None
    data_end_year: int | None = None
    last_crossing_year: int | None = None
    historical_crossings: list[int] = field(default_factory=list)
    median_year: int | None = None
    lo_80: int | None = None
    hi_80: int | None = None
    lo_95: int | None = None
    hi_95: int | None = None
    p_by: dict[int, float | None] = field(default_factory=dict)
    p_after_horizon: float | None = None
    p_crossed_by_now: float | None = None
    horizon: int | None = None
    n_paths: int = 0
    model: str = ""
    stale: bool = False
    notes: list[str] = field(default_factory=list)
    run_id: str | None = None

    @property
    def kind(self) -> str:
        return self.subject_kind

    def to_record(self) -> CrossoverRow:
        values = {f.name: getattr(self, f.name) for f in fields(CrossoverRow)}
        values["historical_crossings"] = tuple(self.historical_crossings)
        values["notes"] = tuple(self.notes)
        return CrossoverRow(**values)

    def to_dict(self) -> dict:
        """JSON-ready: the `aitrack crossovers` record (p_by keys become strings; `kind` = subject_kind)."""
        out = asdict(self)
        out["kind"] = self.subject_kind
        out["p_by"] = {str(year): p for year, p in self.p_by.items()}
        return out


def leadership_changes(years: np.ndarray, gap: np.ndarray) -> list[int]:
    """Years in which the lead changed hands (the first year the new leader is ahead); a tie is no change.

    `gap` is value(pair[0]) − value(pair[1]) on common years.
    """
    changes: list[int] = []
    previous = 0.0
    for year, difference in zip(years.tolist(), np.sign(gap).tolist()):
        if difference == 0:
            continue
        if previous != 0 and difference != previous:
            changes.append(int(year))
        previous = difference
    return changes


def first_passage_years(trailing: np.ndarray, leader: np.ndarray, path_years: np.ndarray) -> np.ndarray:
    """Per path, the first year the trailing path is strictly above the leader's; NaN if never."""
    ahead = trailing > leader
    crossed = ahead.any(axis=1)
    first = np.argmax(ahead, axis=1)
    return np.where(crossed, np.asarray(path_years, dtype=float)[first], np.nan)


def first_passage_summary(
    passage: np.ndarray, path_years: np.ndarray, report_years: tuple[int, ...] = (), before: int | None = None
) -> dict:
    """Quantiles, P(by year), and censored mass of first-passage years (NaN = censored).

    Report years up to `before` (the last observed common year) or before the first path year get 0: the data
    say nothing had crossed then; report years past the last path year get None.
    """
    n = passage.size
    years = [int(y) for y in np.asarray(path_years).tolist()]
    crossed = np.isfinite(passage)
    cdf = {year: float(np.sum(crossed & (passage <= year)) / n) for year in years}
    out: dict = {}
    for name, level in _LEVELS.items():
        # A tiny tolerance so that, e.g., exactly 10 % of paths counts as reaching the 0.10 level.
        reached = [year for year in years if cdf[year] >= level - 1e-12]
        out[name] = reached[0] if reached else None
    p_by: dict[int, float | None] = dict(cdf)
    for year in report_years:
        year = int(year)
        if year not in p_by:
            p_by[year] = 0.0 if (years and year < years[0]) or (before is not None and year <= before) else None
    out["p_by"] = dict(sorted(p_by.items()))
    out["p_after_horizon"] = float(np.sum(~crossed) / n)
    out["p_within_horizon"] = 1.0 - out["p_after_horizon"]
    return out


def p_by_year(p_by: dict[int, float | None], year: int, path_years: np.ndarray) -> float:
    """P(first passage ≤ year) from the CDF: 0 before the paths start, the horizon's value after they end."""
    years = [int(y) for y in np.asarray(path_years).tolist()]
    if not years or year < years[0]:
        return 0.0
    return float(p_by[min(year, years[-1])])


def common_years(history: pl.DataFrame, pair: tuple[str, str]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The years both countries report (sorted) and each one's value in them (its first row for a year), or None
    when a country has no data."""
    countries = history["country"].to_numpy()
    years, values = history["year"].to_numpy(), history["value"].to_numpy().astype(float)
    sides = []
    for country in pair:
        mine = (countries == country) & np.isfinite(values)
        if not mine.any():
            return None
        sides.append((years[mine], values[mine]))
    (years_a, values_a), (years_b, values_b) = sides
    common, first_a, first_b = np.intersect1d(years_a, years_b, return_indices=True)
    return common, values_a[first_a], values_b[first_b]


def crossover_from_paths(
    history: pl.DataFrame,
    path_years: np.ndarray,
    paths: dict[str, np.ndarray],
    *,
    pair: tuple[str, str] = DEFAULT_PAIR,
    report_years: tuple[int, ...] = REPORT_YEARS,
    subject: str = "",
    model: str = "",
    kind: SubjectKind = "indicator",
    current_year: int | None = None,
    horizon_year: int = COMMON_HORIZON_YEAR,
    lower_is_better: bool = False,
) -> Crossover:
    """Classify the pair in its last common year and turn its joint paths into a crossover distribution.

    `history` has columns country, year, value (original scale); `paths[country]` is (n_paths, len(path_years))
    on the same scale. The challenger is pair[0]. Only path years up to `horizon_year` count. `current_year`
    (None: the status ignores "now") decides `p_crossed_by_now` and the `likely_crossed` status. With
    `lower_is_better` the side with the lower value is ahead (history and paths are compared negated).
    """
    if lower_is_better:
        history = history.with_columns(-pl.col("value").cast(pl.Float64))
        paths = {country: -np.asarray(values, dtype=float) for country, values in paths.items()}
    challenger, incumbent = pair
    base = dict(subject=subject, pair=pair_label(pair), model=model, subject_kind=kind, horizon=horizon_year)
    common = common_years(history, pair)
    if common is None or common[0].size < MIN_COMMON_YEARS:
        reason = "a country has no data" if common is None else f"{common[0].size} common years; at least {MIN_COMMON_YEARS} needed"
        return Crossover(status="insufficient_data", notes=[reason], **base)
    years, challenger_values, incumbent_values = common
    gap = challenger_values - incumbent_values
    nonzero = np.sign(gap)[np.sign(gap) != 0]
    data_end = int(years[-1])
    if nonzero.size == 0:
        return Crossover(status="insufficient_data", data_end_year=data_end,
                         notes=["the pair is tied in every common year"], **base)
    leader = challenger if nonzero[-1] > 0 else incumbent
    trailing = incumbent if leader == challenger else challenger
    changes = leadership_changes(years, gap)
    described = dict(leader_now=leader, data_end_year=data_end, last_crossing_year=changes[-1] if changes else None,
                     historical_crossings=changes, leader_since=changes[-1] if changes else int(years[0]))
    path_years = np.asarray(path_years)
    within = path_years <= horizon_year
    if leader not in paths or trailing not in paths or not within.any():
        return Crossover(status="insufficient_data", notes=["no forecast paths"], **described, **base)
    years_in = path_years[within]
    passage = first_passage_years(paths[trailing][:, within], paths[leader][:, within], years_in)
    summary = first_passage_summary(passage, years_in, tuple(report_years), before=data_end)
    by_now = p_by_year(summary["p_by"], current_year, years_in) if current_year is not None else None
    if by_now is not None and by_now >= 0.5:
        # At least half the paths have the trailing side past the leader by now, unobserved because the data end
        # earlier — whichever side trails (the US passing China back reads the same): the median year is then at
        # or before now, and a "projected" crossing never has a median in the past.
        status: CrossoverStatus = "likely_crossed"
    elif leader == challenger:
        status = "already_crossed"
    elif summary["p_within_horizon"] >= 0.5:
        status = "projected"
    else:
        status = "not_within_horizon"
    notes = []
    if leader == challenger and by_now is not None and by_now >= 0.5:
        notes.append(f"{incumbent} has more likely than not passed {challenger} back by {current_year} "
                     f"(data end {data_end})")
    return Crossover(
        status=status, median_year=summary["median_year"], lo_80=summary["lo_80"], hi_80=summary["hi_80"],
        lo_95=summary["lo_95"], hi_95=summary["hi_95"], p_by=summary["p_by"],
        p_after_horizon=summary["p_after_horizon"], p_crossed_by_now=by_now, n_paths=int(passage.size),
        notes=notes, **described, **base,
    )  # fmt: skip
