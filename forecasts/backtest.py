"""As-of backtests: a pair's full history in, forecasts made from each earlier year scored against what followed."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from contracts.pair import DEFAULT_PAIR
from forecasts.crossover import Crossover, common_years
from forecasts.pair import ForecastConfig, ForecastJob, SeriesSpec, forecast_many


def naive_scale(train: np.ndarray) -> float:
    """MASE denominator: mean absolute one-year change of the training values (NaN if they never change)."""
    changes = np.abs(np.diff(np.asarray(train, dtype=float)))
    scale = float(changes.mean()) if changes.size else float("nan")
    return scale if scale > 0 else float("nan")

BACKTEST_FORECAST_SCHEMA = {
    "as_of": pl.Int64(),
    "country": pl.String(),
    "model": pl.String(),
    "year": pl.Int64(),
    "step": pl.Int64(),
    "actual": pl.Float64(),
    "mean": pl.Float64(),
    "lo_80": pl.Float64(),
    "hi_80": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
    "in_80": pl.Boolean(),
    "in_95": pl.Boolean(),
    "scaled_error": pl.Float64(),
}
BACKTEST_CROSSOVER_SCHEMA = {
    "as_of": pl.Int64(),
    "status": pl.String(),
    "leader_now": pl.String(),
    "median_year": pl.Int64(),
    "lo_80": pl.Int64(),
    "hi_80": pl.Int64(),
    "lo_95": pl.Int64(),
    "hi_95": pl.Int64(),
    "p_by_last_observed": pl.Float64(),
    "actual_crossing_year": pl.Int64(),
    "last_observed_year": pl.Int64(),
    "hit_80": pl.Boolean(),
    "hit_95": pl.Boolean(),
}


@dataclass
class BacktestResult:
    subject: str
    forecasts: pl.DataFrame  # one row per (as_of, country, later observed year)
    crossovers: pl.DataFrame  # one row per as_of
    summary: dict  # coverage_80, coverage_95, mase, n_forecasts, crossover_hit_80 …
    warnings: list[str] = field(default_factory=list)


def actual_crossing(history: pl.DataFrame, pair: tuple[str, str], leader: str, after: int) -> tuple[int | None, int | None]:
    """First year after `after` in which the side trailing `leader` was ahead, and the last common year."""
    trailing = pair[1] if leader == pair[0] else pair[0]
    common = common_years(history.filter(pl.col("year") > after), (trailing, leader))
    if common is None or common[0].size == 0:
        return None, None
    years, trailing_values, leader_values = common
    ahead = years[trailing_values > leader_values]
    first = int(ahead[0]) if ahead.size else None
    return first, int(years[-1])


def interval_hit(actual_year: int | None, last_observed: int | None, lower: int | None, upper: int | None) -> bool | None:
    """Did the crossing year fall in [lower, upper]? None when the data cannot tell yet.

    A None bound lies beyond the forecast horizon. With no crossing observed up to
    `last_observed`, an interval reaching past that year is not (yet) contradicted: undetermined.
    """
    if actual_year is not None:
        return lower is not None and lower <= actual_year and (upper is None or actual_year <= upper)
    if last_observed is None:
        return None
    if upper is not None and upper <= last_observed:
        return False
    return None


def _crossover_row(as_of: int, crossover: Crossover, history: pl.DataFrame, pair) -> dict:
    row = dict(
        as_of=as_of,
        status=crossover.status,
        leader_now=crossover.leader_now,
        median_year=crossover.median_year,
        lo_80=crossover.lo_80,
        hi_80=crossover.hi_80,
        lo_95=crossover.lo_95,
        hi_95=crossover.hi_95,
        p_by_last_observed=None,
        actual_crossing_year=None,
        last_observed_year=None,
        hit_80=None,
        hit_95=None,
    )
    if crossover.status == "insufficient_data" or crossover.leader_now is None:
        return row
    actual, last = actual_crossing(history, pair, crossover.leader_now, as_of)
    row.update(actual_crossing_year=actual, last_observed_year=last)
    if last is not None:
        row["p_by_last_observed"] = crossover.p_by.get(last)
    row["hit_80"] = interval_hit(actual, last, crossover.lo_80, crossover.hi_80)
    row["hit_95"] = interval_hit(actual, last, crossover.lo_95, crossover.hi_95)
    return row


@dataclass(frozen=True)
class BacktestRequest:
    history: pl.DataFrame
    spec: SeriesSpec
    from_year: int
    to_year: int | None = None
    pair: tuple[str, str] = DEFAULT_PAIR


def _as_of_years(frame: pl.DataFrame, from_year: int, to_year: int | None) -> list[int]:
    last = int(frame["year"].max()) if frame.height else from_year
    stop = min(last - 1, to_year) if to_year is not None else last - 1
    return list(range(from_year, stop + 1))


def _score_rows(as_of: int, result, frame: pl.DataFrame, pair) -> list[dict]:
    rows = []
    for country in pair:
        mine = frame.filter(pl.col("country") == country)
        train = mine.filter(pl.col("year") <= as_of)["value"].to_numpy()
        scale = naive_scale(train)
        later = mine.filter(pl.col("year") > as_of)
        joined = later.join(result.forecasts.filter(pl.col("country") == country).drop("country"), on="year")
        for row in joined.iter_rows(named=True):
            rows.append(dict(
                as_of=as_of, country=country, model=row["model"], year=row["year"], step=row["year"] - as_of,
                actual=row["value"], mean=row["mean"], lo_80=row["lo_80"], hi_80=row["hi_80"], lo_95=row["lo_95"],
                hi_95=row["hi_95"], in_80=row["lo_80"] <= row["value"] <= row["hi_80"],
                in_95=row["lo_95"] <= row["value"] <= row["hi_95"],
                scaled_error=abs(row["value"] - row["mean"]) / scale if np.isfinite(scale) else None,
            ))  # fmt: skip
    return rows


def backtest_many(requests: list[BacktestRequest], config: ForecastConfig = ForecastConfig()) -> list[BacktestResult]:
    """For each request and each as-of year from its `from_year` on, forecast from the data up to that year and
    score what followed. All subjects' forecasts as of one year are one forecast_many batch (as a run made
    in that year would have been).

    Scaled errors are |actual − median| over the mean absolute one-year change of the as-of data (MASE's
    denominator, original scale). The last as-of year is the one before the last observation.
    """
    frames, jobs, owners = [], [], []
    for k, request in enumerate(requests):
        frame = request.history.select(
            pl.col("country").cast(pl.String), pl.col("year").cast(pl.Int64), pl.col("value").cast(pl.Float64)
        ).filter(pl.col("country").is_in(list(request.pair)))
        frames.append(frame)
        for as_of in _as_of_years(frame, request.from_year, request.to_year):
            jobs.append(ForecastJob(frame, request.spec, request.pair, as_of))
            owners.append(k)
    # One batch per as-of year: the interval calibration pools the backtests of the series forecast together,
    # and a forecast made as of year A may only pool windows that end by A (no later data, from any series).
    results: list = [None] * len(jobs)
    for as_of in sorted({job.as_of for job in jobs}):
        chosen = [k for k, job in enumerate(jobs) if job.as_of == as_of]
        for k, result in zip(chosen, forecast_many([jobs[k] for k in chosen], config)):
            results[k] = result
    forecast_rows: list[list[dict]] = [[] for _ in requests]
    crossover_rows: list[list[dict]] = [[] for _ in requests]
    notes: list[list[str]] = [[] for _ in requests]
    for job, k, result in zip(jobs, owners, results):
        pair = requests[k].pair
        if result.status != "ok":
            notes[k].append(f"as of {job.as_of}: {result.status} ({'; '.join(result.warnings)})")
        else:
            forecast_rows[k] += _score_rows(job.as_of, result, frames[k], pair)
        crossover_rows[k].append(_crossover_row(job.as_of, result.crossover(), frames[k], pair))
    out = []
    for k, request in enumerate(requests):
        forecasts = pl.DataFrame(forecast_rows[k], schema=BACKTEST_FORECAST_SCHEMA)
        crossovers = pl.DataFrame(crossover_rows[k], schema=BACKTEST_CROSSOVER_SCHEMA)
        out.append(BacktestResult(request.spec.subject, forecasts, crossovers, summarise(forecasts, crossovers), notes[k]))
    return out


def backtest_pair(
    history: pl.DataFrame,
    spec: SeriesSpec,
    config: ForecastConfig = ForecastConfig(),
    *,
    from_year: int,
    pair: tuple[str, str] = DEFAULT_PAIR,
    to_year: int | None = None,
) -> BacktestResult:
    """One subject's as-of backtest (see backtest_many)."""
    return backtest_many([BacktestRequest(history, spec, from_year, to_year, pair)], config)[0]


def summarise(forecasts: pl.DataFrame, crossovers: pl.DataFrame) -> dict:
    """Coverage of the 80/95 % intervals, MASE, and crossover interval hits (determinable rows only)."""
    decided_80 = crossovers.filter(pl.col("hit_80").is_not_null())
    decided_95 = crossovers.filter(pl.col("hit_95").is_not_null())
    return dict(
        n_forecasts=forecasts.height,
        coverage_80=float(forecasts["in_80"].mean()) if forecasts.height else None,
        coverage_95=float(forecasts["in_95"].mean()) if forecasts.height else None,
        mase=float(forecasts["scaled_error"].mean()) if forecasts["scaled_error"].drop_nulls().len() else None,
        n_as_of=crossovers.height,
        crossover_decided_80=decided_80.height,
        crossover_hit_80=float(decided_80["hit_80"].mean()) if decided_80.height else None,
        crossover_decided_95=decided_95.height,
        crossover_hit_95=float(decided_95["hit_95"].mean()) if decided_95.height else None,
    )
