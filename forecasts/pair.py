"""Pair forecasts in batch: many jobs (one indicator's two-country history each) in, per job the two countries'
calibrated forecasts, joint sample paths to the common horizon year, fit metadata and a crossover out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import polars as pl

from contracts.intervals import QUANTILE_NAMES, QUANTILE_PROBS
from contracts.kinds import HISTORY_KINDS
from contracts.pair import DEFAULT_PAIR
from contracts.records import COMMON_HORIZON_YEAR, REPORT_YEARS
from forecasts.batch import PreparedSeries, SeriesFit, fit_series
from forecasts.crossover import Crossover, crossover_from_paths
from forecasts.executors import Executor, InProcess
from forecasts.paths import (
    canonical_order,
    marginal_quantiles,
    correlated_shocks,
    model_scale_paths,
    residual_correlation,
    subject_seed,
)
from forecasts.registry import DEFAULT_MODELS
from forecasts.scales import Bounds, SeriesScale, candidate_transforms
from forecasts.selection import WEIGHT_POWER, RunCalibration

# Fewer points than this per country and nothing is forecast (a random walk with drift needs two changes).
MIN_POINTS_ANY = 3
QUANTILES = np.array(QUANTILE_PROBS)

FORECAST_SCHEMA = {
    "country": pl.String(), "model": pl.String(), "year": pl.Int64(),
    **{name: pl.Float64() for name in QUANTILE_NAMES},
    "scale": pl.String(), "weights": pl.String(), "widening_80": pl.Float64(), "widening_95": pl.Float64(),
    "backtest_score": pl.Float64(),
}  # fmt: skip


@dataclass(frozen=True)
class SeriesSpec:
    """How to forecast one indicator: `scale` fixes the scale (an imported series that says it); otherwise the
    backtest chooses, `preferred_scale` first. `bounds` = (lower, upper), either None: hard limits of every path."""

    subject: str
    scale: SeriesScale | None = None
    bounds: tuple[float | None, float | None] | None = None
    preferred_scale: SeriesScale | None = None
    # The catalog's direction: for "lower is better" (e.g. IP payments) the side with the lower value leads.
    lower_is_better: bool = False


@dataclass(frozen=True)
class ForecastConfig:
    horizon: int = 15  # forecast rows run to the later of last year + horizon and horizon_year
    n_paths: int = 2000
    seed: int = 0
    models: tuple[str, ...] = DEFAULT_MODELS
    selection: Literal["comb", "best", "weighted"] = "weighted"
    weight_power: float = WEIGHT_POWER
    cross_fit: bool = True
    series_prior: float = 40.0  # a series' own backtest errors weigh against this many pooled ones
    only_widen: bool = True  # a series' own backtest may widen its intervals beyond the pooled calibration, not narrow
    spread: Literal["model", "rw"] = "model"  # whose predictive sd the calibration rescales (engine.fit_windows)  # calibrate on each origin's errors under weights chosen from the other origins  # "weighted": weights ∝ 1/(relative backtest error)^power
    min_points_full: int = 8  # shorter series get SHORT_SERIES_MODELS only, and a warning
    backtest_origins: int = 5
    origin_step: int = 2  # years between backtest origins (the latest is this many years before the end)
    # False: each statsforecast model is fitted at a series' earliest backtest origin long enough for it and its
    # parameters carried to the later origins (statsforecast's cross_validation(refit=False)); True: refitted at
    # every origin. The final forecast is always fitted on the whole history.
    refit_origins: bool = False
    backtest_horizon: int = 6
    scale_by: Literal["point", "point_and_interval"] = "point_and_interval"
    # Another scale must beat the spec's preferred scale (the catalog's unit-based choice) by this share of its
    # backtest score: the catalog's knowledge is the prior, the backtest overrides it on clear evidence.
    scale_margin: float = 0.1
    # The median is the mean of every candidate scale's median ("weighted": ∝ 1/score^scale_power by the backtest
    # score that chooses the scale; "none": the chosen scale's alone); the paths keep the chosen scale's spread
    # around it (batch.scale_weights, docs/forecasting.md "Scale").
    scale_blend: Literal["equal", "weighted", "none"] = "equal"
    scale_power: float = WEIGHT_POWER
    # Which backtest errors calibrate each scale's intervals (batch.calibrate_and_choose) and the shortest
    # backtest window whose errors count; the alternatives are weighed in docs/benchmark_variants.md.
    calibration_pool: Literal["every_scale", "chosen_scale"] = "every_scale"
    min_calibration_train: int = 0
    growth_guard: bool = True  # hold the median's yearly change to what the history justifies (batch.growth_guard)
    long_run_damping: float = 0.8  # the median's yearly change shrinks by this factor a year past backtest_horizon
    workers: int = 2  # statsforecast n_jobs
    report_years: tuple[int, ...] = REPORT_YEARS
    horizon_year: int = COMMON_HORIZON_YEAR  # every subject's paths and crossover run to this year
    current_year: int = field(default_factory=lambda: date.today().year)  # "now" for p_crossed_by_now


@dataclass(frozen=True)
class ForecastJob:
    """One subject's history for a pair of countries, or for one country (`pair=("IND",)`: a panel series, its own
    forecast and paths, no crossover)."""

    history: pl.DataFrame  # country, year, value (history kinds only)
    spec: SeriesSpec
    pair: tuple[str, str] | tuple[str] = DEFAULT_PAIR
    as_of: int | None = None


@dataclass
class PairForecast:
    subject: str
    model: str  # "comb" when both countries use it; "CHN=ets,USA=comb" when they differ
    forecasts: pl.DataFrame  # FORECAST_SCHEMA; `mean` is the median of the paths
    path_years: np.ndarray
    paths: dict[str, np.ndarray]  # country → (n_paths, len(path_years)), original scale
    residual_correlation: float | None
    warnings: list[str]
    status: Literal["ok", "insufficient_data"]
    pair: tuple[str, str] = DEFAULT_PAIR
    as_of: int | None = None
    selected: dict[str, str] = field(default_factory=dict)
    history: pl.DataFrame = field(default_factory=pl.DataFrame)
    fits: dict[str, dict] = field(default_factory=dict)  # country → fit metadata (scale, weights, widening, scores)
    report_years: tuple[int, ...] = REPORT_YEARS
    current_year: int | None = None
    horizon_year: int = COMMON_HORIZON_YEAR
    lower_is_better: bool = False  # the crossover's "ahead" is the lower value

    @property
    def interval_inflation(self) -> dict[str, float]:
        """Per country, the 80 % widening factor one year ahead (≥ 0.75; 1 = the models' own intervals)."""
        return {c: f["widening_80"][0] for c, f in self.fits.items() if f.get("widening_80")}

    def crossover(self, report_years: tuple[int, ...] | None = None) -> Crossover:
        if len(self.pair) != 2:
            raise ValueError(f"{self.subject}: a single-country forecast ({self.pair[0]}) has no crossover")
        result = crossover_from_paths(
            self.history, self.path_years, self.paths, pair=self.pair,
            report_years=tuple(report_years or self.report_years), subject=self.subject, model=self.model,
            current_year=self.current_year, horizon_year=self.horizon_year, lower_is_better=self.lower_is_better,
        )  # fmt: skip
        if self.status != "ok" and result.status != "insufficient_data":
            result.status = "insufficient_data"
        result.notes.extend(self.warnings)
        return result


def _pair_history(history: pl.DataFrame, pair: tuple[str, str], as_of: int | None) -> pl.DataFrame:
    missing = {"country", "year", "value"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks column(s): {', '.join(sorted(missing))}")
    frame = history.lazy()
    if "value_kind" in history.columns:
        # The caller should already have done this; a target that slipped through would be forecast as fact.
        frame = frame.filter(pl.col("value_kind").is_in(HISTORY_KINDS))
    frame = frame.select(
        pl.col("country").cast(pl.String), pl.col("year").cast(pl.Int64), pl.col("value").cast(pl.Float64)
    ).filter(pl.col("country").is_in(list(pair)) & pl.col("value").is_finite())
    if as_of is not None:
        frame = frame.filter(pl.col("year") <= as_of)
    frame = frame.sort("country", "year").collect()
    # Sorted by country and year: a repeated (country, year) is two equal neighbours.
    countries, years = frame["country"].to_numpy(), frame["year"].to_numpy()
    repeated = np.flatnonzero((countries[1:] == countries[:-1]) & (years[1:] == years[:-1]))
    if repeated.size:
        row = frame.row(int(repeated[0]), named=True)
        raise ValueError(f"history has more than one value for {row['country']} {row['year']}; pick one source per series")
    return frame


def prepare_series(years: np.ndarray, values: np.ndarray, spec: SeriesSpec) -> tuple[PreparedSeries, list[str]]:
    transforms, notes = candidate_transforms(values, Bounds.of(spec.bounds), spec.scale, spec.preferred_scale)
    grid = np.arange(years[0], years[-1] + 1)
    observed = np.isin(grid, years)
    first = transforms[0]
    filled = first.inverse(np.interp(grid, years, first.forward(values)))
    filled[observed] = values
    if not observed.all():
        notes.append(f"{int((~observed).sum())} missing year(s) interpolated on the {first.scale} scale")
    preferred = spec.preferred_scale is not None and transforms[0].scale == spec.preferred_scale
    return PreparedSeries(grid, filled, observed, transforms, preferred), notes


@dataclass
class _Prepared:
    job: ForecastJob
    frame: pl.DataFrame
    raw: dict[str, tuple[np.ndarray, np.ndarray]]
    notes: list[str]
    series: dict[str, int] = field(default_factory=dict)  # country → index in the batch
    error: list[str] | None = None


def _prepare_job(job: ForecastJob, all_series: list[PreparedSeries]) -> _Prepared:
    if len(job.pair) not in (1, 2):
        raise ValueError(f"{job.spec.subject}: a job forecasts one country or a pair, not {len(job.pair)}")
    frame = _pair_history(job.history, job.pair, job.as_of)
    prepared = _Prepared(job, frame, {}, [])
    short = []
    countries = frame["country"].to_numpy()
    years, values = frame["year"].to_numpy(), frame["value"].to_numpy()
    for country in job.pair:
        mine = countries == country
        n = int(mine.sum())
        if n < MIN_POINTS_ANY:
            short.append(f"{country}: {n} point(s); at least {MIN_POINTS_ANY} needed")
        prepared.raw[country] = (years[mine], values[mine])
    if short:
        prepared.error = short
        return prepared
    pending = []
    for country in job.pair:
        try:
            series, notes = prepare_series(*prepared.raw[country], job.spec)
        except ValueError as exc:
            prepared.error = [f"{country}: {exc}"]
            return prepared
        prepared.notes += [f"{country}: {n}" for n in notes]
        pending.append((country, series))
    for country, series in pending:
        prepared.series[country] = len(all_series)
        all_series.append(series)
    return prepared


def _insufficient(p: _Prepared, config: ForecastConfig) -> PairForecast:
    return PairForecast(
        subject=p.job.spec.subject, model="", forecasts=pl.DataFrame(schema=FORECAST_SCHEMA),
        path_years=np.array([], dtype=np.int64), paths={}, residual_correlation=None, warnings=p.error or [],
        status="insufficient_data", pair=p.job.pair, as_of=p.job.as_of, history=p.frame,
        report_years=config.report_years, current_year=config.current_year, horizon_year=config.horizon_year,
        lower_is_better=p.job.spec.lower_is_better,
    )  # fmt: skip


def _path_years(p: _Prepared, config: ForecastConfig) -> np.ndarray:
    last = [int(p.raw[c][0][-1]) for c in p.job.pair]
    end = max(max(last) + config.horizon, config.horizon_year)
    return np.arange(min(last) + 1, end + 1)


def fit_metadata(fit: SeriesFit, steps: int) -> dict:
    """JSON-ready: scale, weights, widening factors by step ahead, backtest scores (naive = 1) and MASE."""
    inner, outer = fit.inner[:steps], fit.outer[:steps]
    choice = fit.choice
    return {
        "scale": choice.scale,
        "scale_weights": {k: round(w, 4) for k, w in choice.scale_weights.items()},
        "weights": {m: round(w, 4) for m, w in choice.weights.items()},
        "widening_80": [round(float(v), 3) for v in inner],
        "widening_95": [round(float(v), 3) for v in outer],
        "series_factor": round(float(choice.series_factor), 3),
        "backtest_scores": {s: {m: (None if not np.isfinite(v) else round(v, 4)) for m, v in sc.items()}
                            for s, sc in choice.scores.items()},
        "backtest_mase": {m: (None if not np.isfinite(v) else round(v, 4)) for m, v in choice.mase.items()},
        "n_origins": choice.n_origins,
        "n_backtest_forecasts": choice.n_backtest,
    }


def _chosen_score(choice) -> float | None:
    scores = choice.scores.get(choice.scale, {})
    if len(choice.weights) == 1:
        value = scores.get(next(iter(choice.weights)))
        return None if value is None or not np.isfinite(value) else float(value)
    return None


def selected_label(fit: SeriesFit) -> str:
    """The model column of a series' rows: its one model, or "weighted"."""
    return "+".join(fit.choice.weights) if len(fit.choice.weights) == 1 else "weighted"


def forecast_rows(country: str, fit: SeriesFit, years: np.ndarray, model: str, weights: dict) -> list[dict]:
    """One country's FORECAST_SCHEMA rows for `years` (its steps 1..len(years) ahead).

    The rows are the exact quantiles of the calibrated predictive distribution the paths are drawn from
    (the paths' own quantiles differ from them only by Monte Carlo noise).
    """
    steps = len(years)
    quantiles = fit.transform.inverse_around(marginal_quantiles(fit.mean[:steps], fit.sd[:steps], fit.inner[:steps],
                                                                fit.outer[:steps], QUANTILES), fit.mean[:steps])
    weights_text = json.dumps(weights, sort_keys=True)
    score = _chosen_score(fit.choice)
    return [{
        "country": country, "model": model, "year": int(year),
        **{name: float(quantiles[k, column]) for k, name in enumerate(QUANTILE_NAMES)},
        "scale": fit.choice.scale, "weights": weights_text, "widening_80": float(fit.inner[column]),
        "widening_95": float(fit.outer[column]), "backtest_score": score,
    } for column, year in enumerate(np.asarray(years).tolist())]  # fmt: skip


def _assemble(p: _Prepared, fits: list[SeriesFit], config: ForecastConfig) -> PairForecast:
    job, pair = p.job, p.job.pair
    order = canonical_order(p.raw)  # streams go in data order, so swapping the countries' data swaps nothing else
    fit_of = {c: fits[p.series[c]] for c in pair}
    notes = list(p.notes)
    path_years = _path_years(p, config)
    shape = (config.n_paths, path_years.size)
    if len(order) == 1:
        # One country of a panel: its own stream per (subject, country), so that two countries' paths are independent.
        correlation = None
        root = subject_seed(config.seed, f"{job.spec.subject}/{order[0]}")
        shocks = {order[0]: np.random.default_rng(root.spawn(1)[0]).standard_normal(shape)}
    else:
        root = subject_seed(config.seed, job.spec.subject)
        first, second = order
        # One-year changes (less their mean) on the chosen scales, dated by the later year of each change.
        change_years = {c: np.arange(int(p.raw[c][0][0]) + 1, int(p.raw[c][0][-1]) + 1) for c in pair}
        correlation, n_overlap = residual_correlation(
            change_years[first], fit_of[first].residuals, change_years[second], fit_of[second].residuals
        )
        if correlation is None:
            notes.append(f"residual correlation not estimated ({n_overlap} overlapping errors); paths independent")
        shock_rngs = [np.random.default_rng(s) for s in root.spawn(2)]
        shocks = dict(zip(order, correlated_shocks(shock_rngs[0], shock_rngs[1], correlation or 0.0, shape)))
    paths, rows, meta, selected = {}, [], {}, {}
    for country in order:
        fit = fit_of[country]
        last = int(p.raw[country][0][-1])
        ahead = path_years > last
        steps = int(ahead.sum())
        notes += [f"{country}: {n}" for n in fit.choice.notes]
        simulated = model_scale_paths(fit.mean[:steps], fit.sd[:steps], fit.inner[:steps], fit.outer[:steps],
                                      shocks[country][:, :steps])
        country_paths = np.empty((config.n_paths, path_years.size))
        country_paths[:, ahead] = fit.transform.inverse_around(simulated, fit.mean[:steps])
        # Years this country has already reported (the other has not yet): its known value in every path.
        known = dict(zip(p.raw[country][0].tolist(), p.raw[country][1].tolist()))
        country_paths[:, ~ahead] = np.array([known.get(y, np.nan) for y in path_years[~ahead].tolist()])[None, :]
        paths[country] = country_paths
        meta[country] = fit_metadata(fit, steps)
        selected[country] = selected_label(fit)
        rows += forecast_rows(country, fit, path_years[ahead], selected[country], meta[country]["weights"])
    names = {selected[c] for c in pair}
    label = names.pop() if len(names) == 1 else ",".join(f"{c}={selected[c]}" for c in pair)
    return PairForecast(
        subject=job.spec.subject, model=label,
        forecasts=pl.DataFrame(rows, schema=FORECAST_SCHEMA).sort("country", "year"),
        path_years=path_years, paths={c: paths[c] for c in pair}, residual_correlation=correlation,
        warnings=notes, status="ok", pair=pair, as_of=job.as_of, selected={c: selected[c] for c in pair},
        history=p.frame, fits={c: meta[c] for c in pair}, report_years=config.report_years,
        current_year=config.current_year, horizon_year=config.horizon_year, lower_is_better=job.spec.lower_is_better,
    )  # fmt: skip


def forecast_many(jobs: list[ForecastJob], config: ForecastConfig = ForecastConfig(),
                  executor: Executor = InProcess()) -> list[PairForecast]:
    """The batch entry point: every job's two series are backtested, chosen and fitted together; results in job order.

    Input: jobs, each a pair history (country, year, value; history kinds only — targets and pledges are
    removed by the caller, and dropped here too if `value_kind` is present), a SeriesSpec (scale, bounds) and an
    optional `as_of` (later years are dropped before anything else). Output: one PairForecast per job with
    forecast rows (median and 80/95 % quantiles of the paths, chosen scale, weights, widening), joint paths to
    `config.horizon_year`, fit metadata per country, and `crossover()`. The interval calibration pools the
    backtest errors of every series in the batch, so a run's subjects are best forecast in one call
    (`forecast_run` with a reference calibration makes each subject's forecast independent of the others).
    Reproducible: the same jobs, config and seed give the same output whatever `config.workers` and whichever
    `executor` (forecasts.executors: in-process, or a Dask cluster) runs the statsforecast fits.
    """
    return forecast_run(jobs, config, executor=executor)[0]


def forecast_run(jobs: list[ForecastJob], config: ForecastConfig = ForecastConfig(),
                 reference: RunCalibration | None = None, executor: Executor = InProcess()
                 ) -> tuple[list[PairForecast], RunCalibration | None]:
    """`forecast_many`, also returning the run's interval calibration (None without any series), calibrated
    against `reference` instead of the run's own pooled errors when one is given (batch.calibrate_and_choose)."""
    jobs = [j if isinstance(j, ForecastJob) else ForecastJob(*j) for j in jobs]
    all_series: list[PreparedSeries] = []
    prepared = [_prepare_job(job, all_series) for job in jobs]
    steps_needed = [0] * len(all_series)
    for p in prepared:
        if p.error is None:
            end = int(_path_years(p, config)[-1])
            for country, index in p.series.items():
                steps_needed[index] = end - int(p.raw[country][0][-1])
    fits, calibration = (fit_series(all_series, steps_needed, config, reference, executor) if all_series
                         else ([], None))
    results = [_insufficient(p, config) if p.error is not None else _assemble(p, fits, config) for p in prepared]
    return results, calibration


def forecast_pair(
    history: pl.DataFrame, spec: SeriesSpec, config: ForecastConfig = ForecastConfig(), *,
    pair: tuple[str, str] = DEFAULT_PAIR, as_of: int | None = None,
) -> PairForecast:
    """One pair on its own (its intervals are calibrated on its own two series' backtests only)."""
    return forecast_many([ForecastJob(history, spec, pair, as_of)], config)[0]
