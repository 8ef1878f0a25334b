"""The world panel: one indicator's history for many countries in, every country's calibrated forecast (one batch
through the same engine as the pair) and, for a chosen few, joint sample paths with a shrunk correlation matrix out.

A per-country job path beside `forecasts.pair.forecast_many`: each country is one series of the batch (the pair
engine would fit a country once per pair it belongs to); backtests, scale choice, pooled calibration and the growth
guard are `forecasts.batch.fit_series`'s, unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from contracts.kinds import HISTORY_KINDS
from forecasts.batch import SeriesFit, fit_series
from forecasts.executors import Executor, InProcess
from forecasts.selection import RunCalibration
from forecasts.pair import (
    FORECAST_SCHEMA,
    ForecastConfig,
    SeriesSpec,
    fit_metadata,
    forecast_rows,
    prepare_series,
    selected_label,
)
from forecasts.paths import (
    correlated_normals,
    model_scale_paths,
    panel_correlation_target,
    shrunk_correlation_matrix,
    subject_seed,
)
from indicators.countries import is_country


@dataclass
class PanelForecast:
    subject: str
    forecasts: pl.DataFrame  # FORECAST_SCHEMA, every forecast country
    last: dict[str, tuple[int, float]]  # country → (last observed year, value), every country with history
    skipped: dict[str, str]  # country → why it has no forecast
    fits: dict[str, dict] = field(default_factory=dict)  # country → fit metadata
    notes: dict[str, list[str]] = field(default_factory=dict)  # country → the engine's notes
    joint: list[str] = field(default_factory=list)  # the countries with joint paths, in the order asked
    path_years: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int64))
    paths: dict[str, np.ndarray] = field(default_factory=dict)  # joint country → (n_paths, len(path_years))
    correlation: np.ndarray | None = None  # joint × joint, the matrix the paths were drawn with
    correlation_target: float = 0.0  # the panel-wide equicorrelation it was shrunk toward
    lower_is_better: bool = False

    @property
    def countries(self) -> list[str]:
        return sorted(self.fits)


def panel_history(history: pl.DataFrame, as_of: int | None = None) -> pl.DataFrame:
    """country, year, value of history kinds up to `as_of`, countries only (no aggregates), one value per year."""
    if "value_kind" in history.columns:
        history = history.filter(pl.col("value_kind").is_in(HISTORY_KINDS))
    frame = history.select(pl.col("country").cast(pl.String), pl.col("year").cast(pl.Int64),
                           pl.col("value").cast(pl.Float64)).filter(pl.col("value").is_finite())  # fmt: skip
    if as_of is not None:
        frame = frame.filter(pl.col("year") <= as_of)
    # Aggregates (WLD, EUU, the bilateral XUC) are not competitors in the panel: countries only.
    codes = [c for c in frame["country"].unique().to_list() if is_country(c)]
    frame = frame.filter(pl.col("country").is_in(codes))
    duplicated = frame.select("country", "year").is_duplicated()
    if duplicated.any():
        row = frame.filter(duplicated).row(0, named=True)
        raise ValueError(f"history has more than one value for {row['country']} {row['year']}; pick one source per series")
    return frame.sort("country", "year")


def forecast_panel(
    history: pl.DataFrame, spec: SeriesSpec, config: ForecastConfig = ForecastConfig(), *,
    min_points: int | None = None, joint: Sequence[str] = (), as_of: int | None = None,
    reference: RunCalibration | None = None, executor: Executor = InProcess(),
) -> PanelForecast:
    """Forecast every country of `history` (country, year, value; one indicator) with at least `min_points`
    observations (default `config.min_points_full`): one batch, so the interval calibration pools the whole panel —
    or, with a `reference` (an official run's calibration), every country is calibrated against it instead.

    For the countries in `joint` that were forecast, joint sample paths on one grid of years (from the earliest of
    their last observed years + 1 to `config.horizon_year` or beyond): shocks correlated by
    `shrunk_correlation_matrix` of their one-year errors, shrunk toward the panel's mean correlation; a year a
    country has already observed holds its known value in every path. Reproducible for the same seed, whichever
    `executor` runs the statsforecast fits (forecasts.executors).
    """
    min_points = config.min_points_full if min_points is None else min_points
    frame = panel_history(history, as_of)
    last, skipped, raw = {}, {}, {}
    for (country,), rows in frame.partition_by("country", as_dict=True, maintain_order=True).items():
        years, values = rows["year"].to_numpy(), rows["value"].to_numpy()
        last[country] = (int(years[-1]), float(values[-1]))
        if years.size < min_points:
            skipped[country] = f"{years.size} point(s); at least {min_points} needed"
            continue
        raw[country] = (years, values)
    prepared, notes, order = [], {}, []
    for country, (years, values) in list(raw.items()):
        try:
            series, series_notes = prepare_series(years, values, spec)
        except ValueError as exc:
            skipped[country] = str(exc)
            del raw[country]
            continue
        prepared.append(series)
        raw[country] = (series.years, series.values)  # the gap-free grid (interior gaps filled) the fit saw
        notes[country] = series_notes
        order.append(country)
    wanted = [c for c in joint if c in order]
    lasts = [last[c][0] for c in (wanted or order)]
    end = max(max(lasts, default=config.horizon_year) + config.horizon, config.horizon_year)
    steps = [end - last[c][0] for c in order]
    fits: list[SeriesFit] = fit_series(prepared, steps, config, reference, executor)[0] if prepared else []
    fit_of = dict(zip(order, fits))
    rows, meta = [], {}
    for country in order:
        fit = fit_of[country]
        meta[country] = fit_metadata(fit, steps[order.index(country)])
        notes[country] = notes[country] + list(fit.choice.notes)
        years_ahead = np.arange(last[country][0] + 1, end + 1)
        rows += forecast_rows(country, fit, years_ahead, selected_label(fit), meta[country]["weights"])
    result = PanelForecast(
        subject=spec.subject, forecasts=pl.DataFrame(rows, schema=FORECAST_SCHEMA).sort("country", "year"), last=last,
        skipped=skipped, fits=meta, notes={c: n for c, n in notes.items() if n}, joint=wanted,
        lower_is_better=spec.lower_is_better,
    )  # fmt: skip
    if wanted:
        _joint_paths(result, fit_of, raw, order, wanted, end, config)
    return result


def _error_matrix(countries: Sequence[str], fit_of: dict[str, SeriesFit], raw: dict, first: int, last: int
                  ) -> np.ndarray:  # fmt: skip
    """(len(countries), years) one-year errors on each series' chosen scale, dated by the later year; NaN elsewhere."""
    grid = np.arange(first, last + 1)
    out = np.full((len(countries), grid.size), np.nan)
    for i, country in enumerate(countries):
        years = raw[country][0]
        change_years = np.arange(int(years[0]) + 1, int(years[-1]) + 1)
        out[i, change_years - first] = fit_of[country].residuals
    return out


def _joint_paths(result: PanelForecast, fit_of, raw, order, wanted, end, config) -> None:
    first = min(int(raw[c][0][0]) for c in order) + 1
    latest = max(int(raw[c][0][-1]) for c in order)
    errors = _error_matrix(order, fit_of, raw, first, latest)
    target = panel_correlation_target(errors)
    index = [order.index(c) for c in wanted]
    correlation, _ = shrunk_correlation_matrix(errors[index], target)
    path_years = np.arange(min(int(raw[c][0][-1]) for c in wanted) + 1, end + 1)
    rng = np.random.default_rng(subject_seed(config.seed, f"race:{result.subject}"))
    shocks = correlated_normals(rng, correlation, (config.n_paths, path_years.size))
    for k, country in enumerate(wanted):
        fit = fit_of[country]
        last_year = int(raw[country][0][-1])
        ahead = path_years > last_year
        n_ahead = int(ahead.sum())
        simulated = model_scale_paths(fit.mean[:n_ahead], fit.sd[:n_ahead], fit.inner[:n_ahead], fit.outer[:n_ahead],
                                      shocks[k][:, :n_ahead])  # fmt: skip
        paths = np.empty((config.n_paths, path_years.size))
        paths[:, ahead] = fit.transform.inverse_around(simulated, fit.mean[:n_ahead])
        known = dict(zip(raw[country][0].tolist(), raw[country][1].tolist()))
        paths[:, ~ahead] = np.array([known.get(y, np.nan) for y in path_years[~ahead].tolist()])[None, :]
        result.paths[country] = paths
    result.path_years, result.correlation, result.correlation_target = path_years, correlation, target
