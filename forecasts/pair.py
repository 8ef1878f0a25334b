"""Pair forecasts: two countries' annual history in, selected models, intervals and joint sample paths out."""

from __future__ import annotations

import multiprocessing
import os
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl

from contracts.kinds import HISTORY_KINDS

from forecasts.crossover import Crossover, crossover_from_paths
from forecasts.models import (
    DEFAULT_MODELS,
    MIN_POINTS,
    SHORT_SERIES_MODELS,
    FittedModel,
    MixtureModel,
    ModelFitError,
    fit_model,
)
from forecasts.paths import canonical_order, correlated_shocks, residual_correlation, subject_seed
from forecasts.scales import ScaleTransform, SeriesScale, fit_transform
from forecasts.selection import QUANTILES, ModelScore, choose_models, interval_inflation, rolling_origin

# Fewer points than this per country and nothing is forecast (a random walk with drift needs two
# changes to estimate its spread).
MIN_POINTS_ANY = MIN_POINTS["rw_drift"]

FORECAST_SCHEMA = {
    "country": pl.String(),
    "model": pl.String(),
    "year": pl.Int64(),
    "mean": pl.Float64(),
    "lo_80": pl.Float64(),
    "hi_80": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
}
BACKTEST_SCHEMA = {
    "country": pl.String(),
    "model": pl.String(),
    "cutoff": pl.Int64(),
    "year": pl.Int64(),
    "actual": pl.Float64(),
    "mean": pl.Float64(),
    "lo_80": pl.Float64(),
    "hi_80": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
}
METRICS_SCHEMA = {
    "country": pl.String(),
    "model": pl.String(),
    "mase": pl.Float64(),
    "coverage_80": pl.Float64(),
    "coverage_95": pl.Float64(),
    "wis": pl.Float64(),
    "n_origins": pl.Int64(),
    "n_forecasts": pl.Int64(),
    "selected": pl.Boolean(),
    "weight": pl.Float64(),
}


@dataclass(frozen=True)
class SeriesSpec:
    subject: str
    scale: SeriesScale
    bounds: tuple[float, float] | None = None  # logit scale: bounds of the original values, e.g. (0, 100)


@dataclass(frozen=True)
class ForecastConfig:
    horizon: int = 15
    n_paths: int = 2000
    seed: int = 0
    models: tuple[str, ...] = DEFAULT_MODELS
    min_points_full: int = 8  # shorter series get SHORT_SERIES_MODELS only, and a warning
    backtest_origins: int = 5
    backtest_paths: int = 400
    report_years: tuple[int, ...] = (2030, 2035)
    workers: int = 2
    selection: Literal["best", "weighted"] = "weighted"
    widen_from_backtest: bool = True  # widen paths whose models under-covered in the backtest


@dataclass
class PairForecast:
    subject: str
    model: str  # the selected model; "CHN=ets,USA=llt" when the countries differ; "weighted"
    forecasts: pl.DataFrame
    path_years: np.ndarray
    paths: dict[str, np.ndarray]
    backtest: pl.DataFrame
    metrics: pl.DataFrame
    residual_correlation: float | None
    warnings: list[str]
    status: Literal["ok", "insufficient_data"]
    pair: tuple[str, str] = ("CHN", "USA")
    as_of: int | None = None
    selected: dict[str, str] = field(default_factory=dict)
    history: pl.DataFrame = field(default_factory=pl.DataFrame)  # the pair's data actually used
    interval_inflation: dict[str, float] = field(default_factory=dict)  # per country, ≥ 1

    def crossover(self, report_years: tuple[int, ...] = (2030, 2035)) -> Crossover:
        result = crossover_from_paths(
            self.history,
            self.path_years,
            self.paths,
            pair=self.pair,
            report_years=report_years,
            subject=self.subject,
            model=self.model,
        )
        if self.status != "ok" and result.status != "insufficient_data":
            result.status = "insufficient_data"
        result.notes.extend(self.warnings)
        return result


@dataclass
class _Series:
    """One country's series on a gap-free annual grid, on the model scale."""

    country: str
    years: np.ndarray  # every year from first to last
    model_values: np.ndarray  # interior gaps linearly interpolated on the model scale
    observed: np.ndarray  # False where the value was interpolated
    transform: ScaleTransform


def _pair_history(history: pl.DataFrame, pair: tuple[str, str], as_of: int | None) -> pl.DataFrame:
    missing = {"country", "year", "value"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks column(s): {', '.join(sorted(missing))}")
    if "value_kind" in history.columns:
        # The caller should already have done this; a target that slipped through would be
        # forecast as if it had happened.
        history = history.filter(pl.col("value_kind").is_in(HISTORY_KINDS))
    frame = history.select(
        pl.col("country").cast(pl.String), pl.col("year").cast(pl.Int64), pl.col("value").cast(pl.Float64)
    ).filter(pl.col("country").is_in(list(pair)) & pl.col("value").is_finite())
    if as_of is not None:
        frame = frame.filter(pl.col("year") <= as_of)
    duplicated = frame.select("country", "year").is_duplicated()
    if duplicated.any():
        row = frame.filter(duplicated).row(0, named=True)
        raise ValueError(
            f"history has more than one value for {row['country']} {row['year']}; pick one source per series"
        )
    return frame.sort("country", "year")


def _to_series(country: str, years: np.ndarray, values: np.ndarray, spec: SeriesSpec) -> tuple[_Series, list[str]]:
    transform, notes = fit_transform(values, spec.scale, spec.bounds)
    grid = np.arange(years[0], years[-1] + 1)
    model_values = np.interp(grid, years, transform.forward(values))
    observed = np.isin(grid, years)
    if not observed.all():
        notes.append(f"{int((~observed).sum())} missing year(s) interpolated on the model scale")
    return _Series(country, grid, model_values, observed, transform), [f"{country}: {n}" for n in notes]


def _candidate_models(n_points: int, config: ForecastConfig) -> tuple[tuple[str, ...], list[str]]:
    if n_points < config.min_points_full:
        allowed = tuple(m for m in config.models if m in SHORT_SERIES_MODELS) or SHORT_SERIES_MODELS
        return allowed, [
            f"short series ({n_points} points < {config.min_points_full}): only {', '.join(allowed)}"
        ]
    usable = tuple(m for m in config.models if MIN_POINTS[m] <= n_points)
    return usable or SHORT_SERIES_MODELS, []


def _select_and_fit(
    series: _Series, config: ForecastConfig, rng: np.random.Generator
) -> tuple[FittedModel, dict[str, float], list[ModelScore], list, list[str]]:
    # The guard counts real observations: interpolated years add no information.
    candidates, notes = _candidate_models(int(series.observed.sum()), config)
    records, scores, fit_notes = rolling_origin(
        series.model_values,
        series.observed,
        candidates,
        n_origins=config.backtest_origins,
        max_step=config.horizon,
        n_paths=config.backtest_paths,
        rng=rng,
    )
    notes += fit_notes
    weights = choose_models(scores, candidates, config.selection)
    fitted: list[FittedModel] = []
    kept: dict[str, float] = {}
    for name, weight in weights.items():
        try:
            fitted.append(fit_model(name, series.model_values))
            kept[name] = weight
        except ModelFitError as exc:
            notes.append(f"{name} could not be fitted to the full series ({exc})")
    if not fitted:
        fallback = SHORT_SERIES_MODELS[0]
        notes.append(f"falling back to {fallback}")
        fitted.append(fit_model(fallback, series.model_values))
        kept = {fallback: 1.0}
    if len(fitted) == 1:
        model: FittedModel = fitted[0]
    else:
        total = sum(kept.values())
        kept = {name: w / total for name, w in kept.items()}
        # The pair correlation is estimated from the heaviest component's one-step errors.
        heaviest = int(np.argmax(list(kept.values())))
        model = MixtureModel(fitted, np.array(list(kept.values())), residuals=fitted[heaviest].residuals)
    return model, kept, scores, records, [f"{series.country}: {n}" for n in notes]


def _insufficient(
    subject: str, pair: tuple[str, str], as_of: int | None, history: pl.DataFrame, notes: list[str]
) -> PairForecast:
    return PairForecast(
        subject=subject,
        model="",
        forecasts=pl.DataFrame(schema=FORECAST_SCHEMA),
        path_years=np.array([], dtype=np.int64),
        paths={},
        backtest=pl.DataFrame(schema=BACKTEST_SCHEMA),
        metrics=pl.DataFrame(schema=METRICS_SCHEMA),
        residual_correlation=None,
        warnings=notes,
        status="insufficient_data",
        pair=pair,
        as_of=as_of,
        history=history,
    )


def forecast_pair(
    history: pl.DataFrame,
    spec: SeriesSpec,
    config: ForecastConfig = ForecastConfig(),
    *,
    pair: tuple[str, str] = ("CHN", "USA"),
    as_of: int | None = None,
) -> PairForecast:
    """Forecast both countries of `pair` and simulate their joint paths.

    `history` has columns country, year, value: history kinds only (measured, estimate,
    provisional); the caller removes targets, pledges, claims and projections. Years after `as_of`
    are dropped before anything else, so an as-of forecast never sees later data.
    """
    frame = _pair_history(history, pair, as_of)
    notes: list[str] = []
    raw: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for country in pair:
        mine = frame.filter(pl.col("country") == country)
        if mine.height < MIN_POINTS_ANY:
            notes.append(f"{country}: {mine.height} point(s); at least {MIN_POINTS_ANY} needed")
        raw[country] = (mine["year"].to_numpy(), mine["value"].to_numpy())
    if notes:
        return _insufficient(spec.subject, pair, as_of, frame, notes)

    # Streams are assigned in data order, not label order (see canonical_order).
    order = canonical_order(raw)
    root = subject_seed(config.seed, spec.subject)
    streams = dict(zip(order, root.spawn(2)))
    series: dict[str, _Series] = {}
    fitted: dict[str, FittedModel] = {}
    weights: dict[str, dict[str, float]] = {}
    inflation: dict[str, float] = {}
    metric_rows: list[dict] = []
    backtest_rows: list[dict] = []
    sim_rngs: dict[str, np.random.Generator] = {}
    shock_rngs: dict[str, np.random.Generator] = {}
    for country in order:
        backtest_seed, sim_seed, shock_seed = streams[country].spawn(3)
        sim_rngs[country] = np.random.default_rng(sim_seed)
        shock_rngs[country] = np.random.default_rng(shock_seed)
        try:
            series[country], series_notes = _to_series(country, *raw[country], spec)
        except ValueError as exc:
            return _insufficient(spec.subject, pair, as_of, frame, [f"{country}: {exc}"])
        notes += series_notes
        model, kept, scores, records, fit_notes = _select_and_fit(
            series[country], config, np.random.default_rng(backtest_seed)
        )
        notes += fit_notes
        fitted[country], weights[country] = model, kept
        inflation[country] = 1.0
        if config.widen_from_backtest:
            factor, n_used = interval_inflation(records, kept)
            inflation[country] = factor
            if factor > 1.05:
                notes.append(
                    f"{country}: intervals widened ×{factor:.2f} (the chosen models under-covered in "
                    f"{n_used} backtest forecasts)"
                )
        for score in scores:
            metric_rows.append(
                dict(
                    country=country,
                    model=score.model,
                    mase=score.mase,
                    coverage_80=score.coverage_80,
                    coverage_95=score.coverage_95,
                    wis=score.wis,
                    n_origins=score.n_origins,
                    n_forecasts=score.n_forecasts,
                    selected=score.model in kept,
                    weight=kept.get(score.model, 0.0),
                )
            )
        transform, years = series[country].transform, series[country].years
        for record in records:
            values = transform.inverse(np.array(record.quantiles))
            backtest_rows.append(
                dict(
                    country=country,
                    model=record.model,
                    cutoff=int(years[record.cutoff]),
                    year=int(years[record.cutoff + record.step]),
                    actual=float(transform.inverse(np.array([record.actual]))[0]),
                    mean=float(values[2]),
                    lo_80=float(values[1]),
                    hi_80=float(values[3]),
                    lo_95=float(values[0]),
                    hi_95=float(values[4]),
                )
            )

    first, second = order
    correlation, n_overlap = residual_correlation(
        series[first].years, fitted[first].residuals, series[second].years, fitted[second].residuals
    )
    if correlation is None:
        notes.append(f"residual correlation not estimated ({n_overlap} overlapping errors); paths independent")

    last_years = {c: int(series[c].years[-1]) for c in pair}
    path_years = np.arange(min(last_years.values()) + 1, max(last_years.values()) + config.horizon + 1)
    shocks = dict(
        zip(
            order,
            correlated_shocks(
                shock_rngs[first], shock_rngs[second], correlation or 0.0, (config.n_paths, path_years.size)
            ),
        )
    )
    paths: dict[str, np.ndarray] = {}
    forecast_rows: list[dict] = []
    selected = {c: "+".join(weights[c]) if len(weights[c]) == 1 else "weighted" for c in pair}
    for country in order:
        s = series[country]
        ahead = path_years > last_years[country]
        simulated = fitted[country].simulate(shocks[country][:, ahead], sim_rngs[country])
        if inflation[country] > 1.0:
            # Spread each year's paths about their median: the ranks of the paths, and so their
            # pairing with the other country's, are unchanged.
            centre = np.median(simulated, axis=0)
            simulated = centre + inflation[country] * (simulated - centre)
        country_paths = np.empty((config.n_paths, path_years.size))
        country_paths[:, ahead] = s.transform.inverse(simulated)
        # Years this country has already reported (the other one has not yet): its known value.
        known = dict(zip(s.years.tolist(), s.transform.inverse(s.model_values).tolist()))
        known.update(zip(raw[country][0].tolist(), raw[country][1].tolist()))
        country_paths[:, ~ahead] = np.array([known.get(y, np.nan) for y in path_years[~ahead].tolist()])[None, :]
        paths[country] = country_paths
        quantiles = np.quantile(country_paths[:, ahead], QUANTILES, axis=0)
        for column, year in enumerate(path_years[ahead].tolist()):
            forecast_rows.append(
                dict(
                    country=country,
                    model=selected[country],
                    year=int(year),
                    mean=float(quantiles[2, column]),
                    lo_80=float(quantiles[1, column]),
                    hi_80=float(quantiles[3, column]),
                    lo_95=float(quantiles[0, column]),
                    hi_95=float(quantiles[4, column]),
                )
            )

    names = {selected[c] for c in pair}
    model_label = names.pop() if len(names) == 1 else ",".join(f"{c}={selected[c]}" for c in pair)
    return PairForecast(
        subject=spec.subject,
        model=model_label,
        forecasts=pl.DataFrame(forecast_rows, schema=FORECAST_SCHEMA).sort("country", "year"),
        path_years=path_years,
        paths={c: paths[c] for c in pair},
        backtest=pl.DataFrame(backtest_rows, schema=BACKTEST_SCHEMA).sort("country", "model", "cutoff", "year"),
        metrics=pl.DataFrame(metric_rows, schema=METRICS_SCHEMA).sort("country", "model"),
        residual_correlation=correlation,
        warnings=notes,
        status="ok",
        pair=pair,
        as_of=as_of,
        selected=selected,
        history=frame,
        interval_inflation={c: inflation[c] for c in pair},
    )


@dataclass(frozen=True)
class ForecastJob:
    history: pl.DataFrame
    spec: SeriesSpec
    pair: tuple[str, str] = ("CHN", "USA")
    as_of: int | None = None


def _run_job(job: ForecastJob, config: ForecastConfig) -> PairForecast:
    return forecast_pair(job.history, job.spec, config, pair=job.pair, as_of=job.as_of)


def forecast_many(jobs: list[ForecastJob], config: ForecastConfig = ForecastConfig()) -> list[PairForecast]:
    """Run many pair forecasts on `config.workers` processes; results in job order.

    Each job's random streams come from (seed, subject), so the output is the same byte for byte
    whatever the number of workers. Workers are spawned, not forked: polars' thread pool does not
    survive fork().
    """
    jobs = [j if isinstance(j, ForecastJob) else ForecastJob(*j) for j in jobs]
    if config.workers <= 1 or len(jobs) <= 1:
        return [_run_job(job, config) for job in jobs]
    context = multiprocessing.get_context("spawn")
    with _one_blas_thread_per_worker(), ProcessPoolExecutor(max_workers=config.workers, mp_context=context) as pool:
        return list(pool.map(_run_job, jobs, [config] * len(jobs)))


# The variables OpenBLAS, OpenMP and MKL read once, when numpy loads in a new process.
_BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _one_blas_thread_per_worker():
    """Spawned workers inherit the environment: give each one BLAS thread.

    One worker per core already uses every core; BLAS threads on top of that spin against each
    other, and on the 2-core target machine that multiplied the statsmodels fits' CPU time 5–10×.
    The parent's own setting is restored afterwards.
    """
    saved = {name: os.environ.get(name) for name in _BLAS_THREAD_VARIABLES}
    os.environ.update({name: "1" for name in _BLAS_THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
