"""The world-panel jobs: stored history in; every country's forecast of one indicator (`forecast --countries all`), or
the race matrix of its top N countries (`race`), out. Computed on demand: ad-hoc answers, never stored as official."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from aitrack.errors import UsageError
from aitrack.executors import configured_executor, forecast_executor
from aitrack.jobs.forecast import FORECAST_COLUMNS, history_observations, reference_calibration, series_spec
from contracts.pair import DEFAULT_PAIR
from contracts.records import COMMON_HORIZON_YEAR, REPORT_YEARS
from db.read import Reader
from indicators.catalog import Catalog
from indicators.countries import is_country

# Rows of the panel's forecast table: the pair table's columns (pair is empty: no pair is compared) and the data end.
PANEL_COLUMNS = tuple(c for c in FORECAST_COLUMNS if c != "pair") + ("last_year", "last_value")
# The race's long rows (JSON `cells`, CSV): P(row ahead of column in year), and whether row is ahead on the latest data.
# p_tie: paths on which the two are equal that year (both at a bound such as 0), so p_row_ahead(i, j) + p_row_ahead(j, i)
# + p_tie = 1.
RACE_CELL_COLUMNS = ("indicator", "year", "row", "column", "p_row_ahead", "p_tie", "row_ahead_now")


@dataclass
class PanelOutcome:
    indicator: str
    forecasts: pl.DataFrame  # PANEL_COLUMNS
    skipped: dict[str, str]  # country → why no forecast
    n_countries: int  # countries with any history
    seconds: float
    notes: dict[str, list[str]] = field(default_factory=dict)
    calibrated_on: str = "this run"  # the official run whose calibration the panel used, or the panel itself


@dataclass
class RaceOutcome:
    indicator: str
    unit: str
    lower_is_better: bool
    countries: list[str]  # the top N by latest value, best first
    latest: dict[str, tuple[int, float]]  # country → (last year, value)
    forecast: list[str]  # the countries of `countries` with joint paths
    missing: dict[str, str]  # top-N country without a forecast → why
    stale: list[str]  # countries left out of the ranking: their data end too early (forecasts.race)
    matrices: dict[int, np.ndarray]  # year → (len(forecast), len(forecast)) P(row ahead of column in year)
    ahead_now: np.ndarray  # (len(forecast), len(forecast)) row ahead of column on the latest values
    correlation: np.ndarray | None
    correlation_target: float
    n_paths: int
    seconds: float
    calibrated_on: str = "this run"

    def max_tie(self, year: int) -> float:
        """The largest share of paths on which two of the countries are equal in `year` (0 when none are)."""
        matrix = self.matrices[year]
        if matrix.shape[0] < 2:
            return 0.0
        ties = 1.0 - matrix - matrix.T
        return float(max(0.0, np.nanmax(ties)))

    def cells(self) -> list[dict]:
        """Long rows, one per (year, row, column) of the forecast countries: the JSON and CSV bodies."""
        out = []
        for year, matrix in self.matrices.items():
            for i, row in enumerate(self.forecast):
                for j, column in enumerate(self.forecast):
                    if i == j:
                        continue
                    tie = max(0.0, 1.0 - float(matrix[i, j]) - float(matrix[j, i]))
                    values = (self.indicator, year, row, column, round(float(matrix[i, j]), 4), round(tie, 4),
                              bool(self.ahead_now[i, j]))
                    out.append(dict(zip(RACE_CELL_COLUMNS, values)))
        return out


def _indicator_history(reader: Reader, catalog: Catalog, indicator: str, as_of: int | None) -> tuple[pl.DataFrame, object]:
    if indicator not in catalog:
        raise UsageError(f"unknown indicator {indicator}; see `aitrack status` or indicators/catalog.yaml")
    entry = catalog.get(indicator)
    if entry.evidence_only:
        raise UsageError(f"{indicator} is evidence only: nothing to forecast")
    history = history_observations(reader, as_of=as_of, indicators=[indicator]).select("country", "year", "value")
    return history, entry


def _config(horizon: int, n_paths: int, seed: int, workers: int):
    from forecasts import ForecastConfig

    return ForecastConfig(horizon=horizon, n_paths=n_paths, seed=seed, workers=workers)


def forecast_countries(reader: Reader, catalog: Catalog, indicator: str, *, countries: Sequence[str] | None = None,
                       as_of: int | None = None, horizon: int = 15, n_paths: int = 2000, seed: int = 0,
                       workers: int = 2, executor: str | None = None) -> PanelOutcome:  # fmt: skip
    """Every country (or `countries`) with enough history of `indicator`, forecast in one batch (its fits on
    `executor`: `local` or `dask://host:port`; None → the `AITRACK_EXECUTOR` setting)."""
    from forecasts.panel import forecast_panel

    t0 = time.perf_counter()
    history, entry = _indicator_history(reader, catalog, indicator, as_of)
    if countries is not None:
        history = history.filter(pl.col("country").is_in(list(countries)))
    reference, calibrated_on = reference_calibration(reader, "adhoc" if as_of is None else "backtest", DEFAULT_PAIR)
    with forecast_executor(configured_executor(executor), workers) as runner:
        result = forecast_panel(history, series_spec(entry), _config(horizon, n_paths, seed, workers), as_of=as_of,
                                reference=reference, executor=runner)
    last = pl.DataFrame([{"country": c, "last_year": y, "last_value": v} for c, (y, v) in result.last.items()],
                        schema={"country": pl.String, "last_year": pl.Int64, "last_value": pl.Float64})  # fmt: skip
    table = result.forecasts.with_columns(pl.lit(indicator).alias("subject"), pl.lit("indicator").alias("subject_kind"))
    table = table.join(last, on="country", how="left").select(PANEL_COLUMNS)
    skipped = dict(result.skipped)
    if countries is not None:
        skipped.update({c: "no data" for c in countries if c not in result.last})
    return PanelOutcome(indicator=indicator, forecasts=table, skipped=skipped, n_countries=len(result.last),
                        seconds=time.perf_counter() - t0, notes=result.notes, calibrated_on=calibrated_on)  # fmt: skip


def race(reader: Reader, catalog: Catalog, indicator: str, *, top: int = 10, years: Sequence[int] = REPORT_YEARS,
         n_paths: int = 2000, seed: int = 0, workers: int = 2, executor: str | None = None) -> RaceOutcome:  # fmt: skip
    """The top `top` countries by latest value of `indicator`; P(row ahead of column in each year) from joint paths
    (the whole panel is fitted in one batch, so the calibration and the correlation target use every country)."""
    from forecasts.panel import forecast_panel, panel_history
    from forecasts.race import ahead_now, race_matrices, top_by_latest

    t0 = time.perf_counter()
    bad = [y for y in years if not 2000 <= int(y) <= COMMON_HORIZON_YEAR]
    if bad:
        raise UsageError(f"race years run to the common horizon {COMMON_HORIZON_YEAR}; got {', '.join(map(str, bad))}")
    history, entry = _indicator_history(reader, catalog, indicator, None)
    lower = entry.direction == "lower_is_better"
    latest = {c: (int(r["year"][-1]), float(r["value"][-1]))
              for (c,), r in panel_history(history).partition_by("country", as_dict=True).items()}
    ranked, stale = top_by_latest(latest, top, lower)
    if not ranked:
        raise UsageError(f"{indicator}: no country has data")
    reference, calibrated_on = reference_calibration(reader, "adhoc", DEFAULT_PAIR)
    with forecast_executor(configured_executor(executor), workers) as runner:
        result = forecast_panel(history, series_spec(entry), _config(15, n_paths, seed, workers), joint=ranked,
                                reference=reference, executor=runner)
    forecast = [c for c in ranked if c in result.paths]
    missing = {c: result.skipped.get(c, "not forecast") for c in ranked if c not in result.paths}
    matrices: dict[int, np.ndarray] = {}
    if forecast:
        first_path_year = int(result.path_years[0])
        early = [y for y in years if int(y) < first_path_year]
        if early:
            raise UsageError(f"{', '.join(map(str, early))}: before the first forecast year {first_path_year}")
        stacked = np.stack([result.paths[c] for c in forecast])
        matrices = race_matrices(stacked, result.path_years, [int(y) for y in years], lower)
    now = ahead_now([latest[c][1] for c in forecast], lower)
    return RaceOutcome(
        indicator=indicator, unit=entry.unit, lower_is_better=lower, countries=ranked, latest=latest, forecast=forecast,
        missing=missing, stale=stale, matrices=matrices, ahead_now=now, correlation=result.correlation,
        correlation_target=result.correlation_target, n_paths=n_paths, seconds=time.perf_counter() - t0,
        calibrated_on=calibrated_on,
    )  # fmt: skip


def world_panel_jobs(observations: pl.DataFrame, catalog: Catalog, *, min_points: int | None = None) -> list:
    """The whole world panel as one batch: a single-country `ForecastJob(pair=(country,))` per (catalog indicator,
    country) with at least `min_points` annual history values (default: the full-model threshold
    `ForecastConfig.min_points_full`), countries only as in `forecast_countries`, ordered by indicator then country
    (`bench/bench_panel.py`, the executor test). `observations`: `history_observations`."""
    from forecasts import ForecastConfig, ForecastJob

    threshold = ForecastConfig().min_points_full if min_points is None else min_points
    known = [e.id for e in catalog if not e.evidence_only]
    frame = observations.filter(pl.col("indicator").is_in(known)).select("indicator", "country", "year", "value")
    codes = [c for c in frame["country"].unique().to_list() if is_country(c)]
    frame = frame.filter(pl.col("country").is_in(codes))
    counts = frame.group_by("indicator", "country").len().filter(pl.col("len") >= threshold)
    keys = counts.sort("indicator", "country").select("indicator", "country").rows()
    by_key = frame.join(counts.select("indicator", "country"), on=["indicator", "country"]).partition_by(
        "indicator", "country", as_dict=True)
    specs = {i: series_spec(catalog.get(i)) for i in {k[0] for k in keys}}
    return [ForecastJob(history=by_key[key].select("country", "year", "value"), spec=specs[key[0]], pair=(key[1],))
            for key in keys]
