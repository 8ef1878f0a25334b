"""Crossovers: a pair's history and joint sample paths in, the first-passage year distribution out.

The crossover year is the first simulated year in which the trailing side's path exceeds the
leader's, path by path — not the year two mean lines cross, which ignores that paths that wander
apart may still meet. Paths that never cross within the horizon are censored: their share is the
probability mass "after the horizon", and a quantile that falls in that mass is None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import polars as pl

CrossoverStatus = Literal["already_crossed", "projected", "not_within_horizon", "insufficient_data"]
# Fewer common years than this and who leads, and since when, is not worth stating.
MIN_COMMON_YEARS = 3
# first-passage CDF levels of the reported quantiles
_LEVELS = {"lo_95": 0.025, "lo_80": 0.10, "median_year": 0.50, "hi_80": 0.90, "hi_95": 0.975}


@dataclass
class Crossover:
    """When (if ever) the trailing side passes the leader, as a distribution over years.

    For status `already_crossed` the challenger (pair[0]) leads now; the first-passage fields then
    describe the incumbent (now trailing) passing it back, and `last_crossing_year` is the year
    the challenger took the lead (None if it led from the first common year).
    """

    subject: str
    pair: str
    leader_now: str | None
    status: CrossoverStatus
    last_crossing_year: int | None = None
    historical_crossings: list[int] = field(default_factory=list)
    median_year: int | None = None
    lo_80: int | None = None
    hi_80: int | None = None
    lo_95: int | None = None
    hi_95: int | None = None
    p_by: dict[int, float | None] = field(default_factory=dict)
    p_after_horizon: float | None = None
    horizon: int | None = None  # last simulated year
    n_paths: int = 0
    model: str = ""
    kind: str = "indicator"
    run_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready: the `aitrack crossovers` record (p_by keys become strings)."""
        out = asdict(self)
        out["p_by"] = {str(year): p for year, p in self.p_by.items()}
        return out


def leadership_changes(years: np.ndarray, gap: np.ndarray) -> list[int]:
    """Years in which the lead changed hands (the first year the new leader is ahead).

    `gap` is value(pair[0]) − value(pair[1]) on common years; a tie is not a change of leader.
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
    passage: np.ndarray, path_years: np.ndarray, report_years: tuple[int, ...] = ()
) -> dict:
    """Quantiles, probability by each year, and censored mass of first-passage years (NaN = censored)."""
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
        if year in p_by:
            continue
        # Before the first simulated year nothing can have passed yet; after the last one the
        # paths say nothing.
        p_by[year] = 0.0 if years and year < years[0] else None
    out["p_by"] = dict(sorted(p_by.items()))
    out["p_after_horizon"] = float(np.sum(~crossed) / n)
    out["p_within_horizon"] = 1.0 - out["p_after_horizon"]
    return out


def crossover_from_paths(
    history: pl.DataFrame,
    path_years: np.ndarray,
    paths: dict[str, np.ndarray],
    *,
    pair: tuple[str, str] = ("CHN", "USA"),
    report_years: tuple[int, ...] = (2030, 2035),
    subject: str = "",
    model: str = "",
    kind: str = "indicator",
) -> Crossover:
    """Classify the pair now and turn its joint paths into a crossover distribution.

    `history` has columns country, year, value (original scale); `paths[country]` is
    (n_paths, len(path_years)) on the same scale. The challenger is pair[0].
    """
    challenger, incumbent = pair
    label = f"{challenger}-{incumbent}"
    base = dict(subject=subject, pair=label, model=model, kind=kind)
    frame = history.filter(pl.col("country").is_in(list(pair)))
    wide = (
        frame.pivot(on="country", index="year", values="value", aggregate_function="first")
        if frame.height
        else pl.DataFrame()
    )
    if challenger not in wide.columns or incumbent not in wide.columns:
        return Crossover(leader_now=None, status="insufficient_data", notes=["a country has no data"], **base)
    common = wide.drop_nulls([challenger, incumbent]).sort("year")
    if common.height < MIN_COMMON_YEARS:
        return Crossover(
            leader_now=None,
            status="insufficient_data",
            notes=[f"{common.height} common years; at least {MIN_COMMON_YEARS} needed"],
            **base,
        )
    years = common["year"].to_numpy()
    gap = common[challenger].to_numpy() - common[incumbent].to_numpy()
    nonzero = np.sign(gap)[np.sign(gap) != 0]
    if nonzero.size == 0:
        return Crossover(leader_now=None, status="insufficient_data", notes=["the pair is tied in every common year"], **base)
    leader = challenger if nonzero[-1] > 0 else incumbent
    trailing = incumbent if leader == challenger else challenger
    changes = leadership_changes(years, gap)
    last_crossing = changes[-1] if changes else None
    if leader not in paths or trailing not in paths or len(path_years) == 0:
        return Crossover(
            leader_now=leader,
            status="insufficient_data",
            last_crossing_year=last_crossing,
            historical_crossings=changes,
            notes=["no forecast paths"],
            **base,
        )
    passage = first_passage_years(paths[trailing], paths[leader], np.asarray(path_years))
    summary = first_passage_summary(passage, np.asarray(path_years), tuple(report_years))
    if leader == challenger:
        status: CrossoverStatus = "already_crossed"
    elif summary["p_within_horizon"] >= 0.5:
        status = "projected"
    else:
        status = "not_within_horizon"
    return Crossover(
        leader_now=leader,
        status=status,
        last_crossing_year=last_crossing,
        historical_crossings=changes,
        median_year=summary["median_year"],
        lo_80=summary["lo_80"],
        hi_80=summary["hi_80"],
        lo_95=summary["lo_95"],
        hi_95=summary["hi_95"],
        p_by=summary["p_by"],
        p_after_horizon=summary["p_after_horizon"],
        horizon=int(np.asarray(path_years)[-1]),
        n_paths=int(passage.size),
        **base,
    )
