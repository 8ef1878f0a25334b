"""The forecast job: stored history in; forecasts of pair indicators and dimensions, crossovers from joint paths and
as-of backtests out, stored as one run (official, ad hoc or backtest) with its configuration."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import polars as pl

from aitrack.errors import UsageError
from aitrack.executors import configured_executor, forecast_executor
from contracts.dimensions import DIMENSION_NAMES
from contracts.intervals import FORECAST_VALUE_COLUMNS
from contracts.kinds import HISTORY_KINDS
from contracts.observations import annual_only, data_fingerprint
from contracts.pair import DEFAULT_PAIR, pair_label
from contracts.records import CrossoverRow, is_stale
from db.read import Reader
from db.write import Writer
from indicators.catalog import Catalog

# Per row, what the fit did (Deliver 7 of the engine issue): the chosen scale, the model weights (JSON), the interval
# widening factors and the backtest score; in the JSON/Parquet output and in the run's configuration, not stored
# per row.
FIT_COLUMNS = ("scale", "weights", "widening_80", "widening_95", "backtest_score")
FORECAST_COLUMNS = ("subject", "subject_kind", "pair", "country", "model", "year", *FORECAST_VALUE_COLUMNS, *FIT_COLUMNS)
_STRING_COLUMNS = {"subject", "subject_kind", "pair", "country", "model", "scale", "weights"}
# A dimension's data are annual (its members' cadences differ; the composite is judged as a yearly series).
DIMENSION_CADENCE_DAYS = 365


@dataclass
class ForecastOutcome:
    run_id: str
    kind: str  # official | adhoc | backtest
    as_of: int | None
    forecasts: pl.DataFrame  # FORECAST_COLUMNS
    crossovers: list[CrossoverRow]
    warnings: dict[str, list[str]]
    seconds: float
    details: dict[str, dict] = field(default_factory=dict)  # per subject: model choice, residual correlation
    calibrated_on: str = "this run"  # whose backtest errors calibrate the intervals: this run or an official run


def _code_version() -> str:
    from aitrack import __version__

    return __version__


def history_observations(reader: Reader, *, as_of: int | None = None, indicators: Sequence[str] | None = None) -> pl.DataFrame:
    """What a forecast learns from: current annual history values up to `as_of` (provisional years, period totals,
    targets and projections never enter)."""
    return annual_only(reader.latest_observations(kinds=HISTORY_KINDS, year_to=as_of, indicators=indicators))


def series_spec(entry) -> "SeriesSpec":  # noqa: F821 - imported lazily
    """A catalog entry's forecast spec: its bounds (else its unit's range), its scale as the preferred one."""
    from contracts.units import unit_spec
    from forecasts import SeriesSpec

    unit = unit_spec(entry.unit)
    bounds = tuple(entry.bounds) if entry.bounds else (unit.lower, unit.upper)
    fixed = entry.forecast_scale if entry.scale_fixed else None
    # A unit the project does not know (an import's own) implies no scale: the backtest alone chooses.
    preferred = entry.forecast_scale if unit.family != "other" else None
    return SeriesSpec(subject=entry.id, scale=fixed, bounds=bounds, preferred_scale=preferred,
                      lower_is_better=entry.direction == "lower_is_better")


def checked_pair(pair: tuple[str, str]) -> tuple[str, str]:
    """The pair, or a UsageError (exit 2, one line) when a side is neither a country nor an accepted aggregate."""
    from indicators.countries import validate_pair

    try:
        return validate_pair(tuple(pair))
    except ValueError as exc:
        raise UsageError(f"bad pair: {exc}") from None


def pair_indicators(catalog: Catalog) -> list[str]:
    return [e.id for e in catalog if e.comparison == "pair"]


def _check_subjects(catalog: Catalog, indicators: Sequence[str] | None, dimensions: Sequence[str] | None) -> None:
    unknown = [i for i in indicators or () if i not in catalog]
    if unknown:
        raise UsageError(f"unknown indicator {', '.join(unknown)}; see `aitrack status` or indicators/catalog.yaml")
    bad_dims = [d for d in dimensions or () if d not in DIMENSION_NAMES]
    if bad_dims:
        raise UsageError(f"unknown dimension {', '.join(bad_dims)}; choose from {', '.join(DIMENSION_NAMES)}")
    not_pair = [i for i in indicators or () if catalog.get(i).comparison != "pair"]
    if not_pair:
        raise UsageError(
            f"{', '.join(not_pair)}: not a pair series (single-country, bilateral or evidence-only); nothing to cross"
        )


def _locked_when_official(job):
    """Run the job under the database job lock when it stores an official run (JobLocked, exit 3, while another
    refresh, build, import or official forecast holds it); ad-hoc runs and backtests write rows of their own."""
    import functools

    @functools.wraps(job)
    def locked(reader, writer=None, *args, **kwargs):
        from aitrack.locking import job_lock

        if writer is None or not kwargs.get("official") or kwargs.get("as_of") is not None:
            return job(reader, writer, *args, **kwargs)
        with job_lock(writer.engine, job="forecast"):
            return job(reader, writer, *args, **kwargs)

    return locked


@dataclass
class _Outputs:
    """What one run produces, subject by subject, before it is stored."""

    frames: list[pl.DataFrame] = field(default_factory=list)
    crossovers: list[CrossoverRow] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, dict] = field(default_factory=dict)
    dimensions: dict[str, object] = field(default_factory=dict)  # name → forecasts.DimensionForecast


def _indicator_outputs(out: _Outputs, indicator: str, result, catalog: Catalog, config, label: str) -> None:
    if result.forecasts.height:
        out.frames.append(result.forecasts.with_columns(
            pl.lit(indicator).alias("subject"), pl.lit("indicator").alias("subject_kind"), pl.lit(label).alias("pair"),
        ))  # fmt: skip
    row = result.crossover(config.report_years).to_record()
    stale = is_stale(row.data_end_year, catalog.get(indicator).cadence_days, config.current_year)
    out.crossovers.append(replace(row, stale=stale))
    out.details[indicator] = {"residual_correlation": result.residual_correlation, "selected": result.selected,
                              "fits": result.fits}  # fmt: skip
    if result.warnings:
        out.warnings[indicator] = list(result.warnings)


def _dimension_outputs(out: _Outputs, dimension: str, results: dict, shares: pl.DataFrame, catalog: Catalog,
                       config, pair: tuple[str, str]) -> None:  # fmt: skip
    from forecasts import forecast_dimension

    spec = catalog.dimensions[dimension]
    weights = catalog.dimension_weights(dimension)
    forecast = forecast_dimension(
        {m: results[m] for m in weights}, shares, weights, spec.dirichlet_concentration, config,
        subject=dimension, directions={m: catalog.get(m).direction for m in weights},
        min_weight_present=spec.coverage_threshold, min_indicators=spec.min_indicators, pair=pair,
    )  # fmt: skip
    out.dimensions[dimension] = forecast
    if forecast.forecasts.height:
        out.frames.append(forecast.forecasts.select("subject", "year", *FORECAST_VALUE_COLUMNS).with_columns(
            pl.lit("dimension").alias("subject_kind"), pl.lit(pair_label(pair)).alias("pair"),
            pl.lit(pair[0]).alias("country"), pl.lit("composite").alias("model"), pl.lit("composite").alias("scale"),
        ))  # fmt: skip
    row = forecast.crossover.to_record()
    out.crossovers.append(replace(row, stale=is_stale(row.data_end_year, DIMENSION_CADENCE_DAYS, config.current_year)))
    if forecast.warnings:
        out.warnings[dimension] = list(forecast.warnings)


def _forecast_table(frames: list[pl.DataFrame], current_year: int) -> pl.DataFrame:
    """Every subject's rows in FORECAST_COLUMNS; `nowcast` marks a year already past (its data are not published)."""
    schema = {c: (pl.Int64 if c == "year" else pl.String if c in _STRING_COLUMNS else pl.Float64) for c in FORECAST_COLUMNS}
    table = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame(schema=schema)
    table = table.with_columns(
        pl.lit(None, schema[c]).alias(c) for c in FORECAST_COLUMNS if c not in table.columns
    ).select(FORECAST_COLUMNS).cast(schema)
    return table.with_columns((pl.col("year") <= current_year).alias("nowcast"))


def dimension_build(measured: pl.DataFrame, dimensions: dict[str, object], catalog: Catalog,
                    pair: tuple[str, str]) -> pl.DataFrame:  # fmt: skip
    """The dimension scores an official run publishes: the build's measured years (indicators.composites), with the
    years that reach the coverage rule only with nowcast members (forecasts.dimension) added or replaced."""
    from indicators.composites import SCORES_SCHEMA, leader_of

    schema = {**SCORES_SCHEMA, "weight_nowcast": pl.Float64}
    rows = measured.with_columns(pl.lit(0.0).alias("weight_nowcast")).select(list(schema))
    nowcast_rows = []
    for name, forecast in dimensions.items():
        history = forecast.history.filter(pl.col("weight_nowcast") > 0)
        n_members = len(catalog.dimension_weights(name))
        for r in history.iter_rows(named=True):
            nowcast_rows.append({**{k: r[k] for k in ("year", "score", "lo_80", "hi_80", "lo_95", "hi_95", "n_present",
                                                      "weight_present", "weight_nowcast")},
                                 "dimension": name, "n_indicators": n_members, "status": "ok",
                                 "leader": leader_of(r["score"], pair)})  # fmt: skip
    if not nowcast_rows:
        return rows
    added = pl.DataFrame(nowcast_rows, schema=schema)
    keep = rows.join(added.select("dimension", "year"), on=["dimension", "year"], how="anti")
    return pl.concat([keep, added]).sort("dimension", "year")


def reference_calibration(reader: Reader, kind: str, pair: tuple[str, str]):
    """An ad-hoc run's reference: the calibration of the latest official run by this code version for the pair, else
    for the default pair (so that a subject forecast alone, for another pair or for the world panel, gets intervals
    calibrated on the whole catalog rather than on its own few series); (None, "this run") for official and as-of
    runs. Returns (RunCalibration or None, where the calibration came from)."""
    from forecasts import RunCalibration

    if kind != "adhoc":
        return None, "this run"
    for candidate in dict.fromkeys((pair, DEFAULT_PAIR)):
        stored = reader.official_calibration(pair=pair_label(candidate), code_version=_code_version())
        if stored is None:
            continue
        run_id, data = stored
        try:
            return RunCalibration.from_json(data), f"official run {run_id} ({pair_label(candidate)})"
        except ValueError as exc:
            return None, f"this run (official run {run_id}'s calibration unreadable: {exc})"
    return None, "this run (no official run by this version to calibrate against)"


@_locked_when_official
def forecast_subjects(
    reader: Reader,
    writer: Writer | None,
    catalog: Catalog,
    *,
    indicators: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
    as_of: int | None = None,
    horizon: int = 15,
    n_paths: int = 2000,
    seed: int = 0,
    workers: int = 2,
    official: bool = False,
    pair: tuple[str, str] = DEFAULT_PAIR,
    executor: str | None = None,
) -> ForecastOutcome:
    """Forecast pair indicators and dimensions from data up to `as_of`; crossovers from joint paths; store the run
    when a writer is given (official only when asked: ad-hoc runs never replace what the views show). An official
    run also publishes the dimension scores with their nowcast years. `executor`: where the batch's fits run
    (`local` or `dask://host:port`); None → the `AITRACK_EXECUTOR` setting."""
    from forecasts import ForecastConfig, ForecastJob, forecast_run
    from indicators.composites import dimension_scores, pair_shares

    t0 = time.perf_counter()
    _check_subjects(catalog, indicators, dimensions)
    pair = checked_pair(pair)
    # The executor's workers start first: they load the fitting engine while this process reads the history.
    with forecast_executor(configured_executor(executor), workers) as runner:
        observations = history_observations(reader, as_of=as_of)
        if pair != DEFAULT_PAIR:
            from indicators.derive import rederive_for_pair

            # The stored pair-dependent series (states closer to CHN's democracy level than to USA's) answer the default
            # pair's question: another pair gets its own.
            observations = rederive_for_pair(observations, catalog, pair)
        if indicators is None and dimensions is None:
            wanted_ind, wanted_dim = pair_indicators(catalog), list(DIMENSION_NAMES)
        else:
            wanted_ind, wanted_dim = list(indicators or []), list(dimensions or [])
        # A dimension's paths need its members' indicator paths.
        needed = list(dict.fromkeys(wanted_ind + [m for d in wanted_dim for m in catalog.dimension_weights(d)]))
        config = ForecastConfig(horizon=horizon, n_paths=n_paths, seed=seed, workers=workers)
        # One pass over the history, split by indicator (a filter per indicator costs a scan each).
        by_indicator = observations.filter(pl.col("indicator").is_in(needed) & pl.col("country").is_in(pair)) \
            .select("indicator", "country", "year", "value").partition_by("indicator", as_dict=True, include_key=False)
        empty = pl.DataFrame(schema={"country": pl.String, "year": pl.Int64, "value": pl.Float64})
        jobs = [ForecastJob(history=by_indicator.get((i,), empty), spec=series_spec(catalog.get(i)), pair=pair,
                            as_of=as_of) for i in needed]
        kind = "backtest" if as_of is not None else ("official" if official else "adhoc")
        reference, calibrated_on = reference_calibration(reader, kind, pair)
        batch, calibration = forecast_run(jobs, config, reference, runner)
    results = {job.spec.subject: res for job, res in zip(jobs, batch)}

    out = _Outputs()
    for indicator in wanted_ind:
        _indicator_outputs(out, indicator, results[indicator], catalog, config, pair_label(pair))
    shares = pair_shares(observations, catalog, pair=pair) if wanted_dim else None
    for dimension in wanted_dim:
        _dimension_outputs(out, dimension, results, shares, catalog, config, pair)
    table = _forecast_table(out.frames, config.current_year)
    run_id = str(uuid.uuid4())
    crossovers = [replace(cx, run_id=run_id) for cx in out.crossovers]
    if writer is not None:
        fingerprint = data_fingerprint(observations)
        writer.save_forecast_run(
            run={
                "id": run_id, "created_at": datetime.now(timezone.utc), "as_of": as_of, "horizon": horizon,
                # Only the main job, the scheduled refresh or an explicit --publish replaces what the views show.
                "kind": kind, "pair": pair_label(pair), "n_paths": n_paths, "seed": seed,
                "code_version": _code_version(), "data_fingerprint": fingerprint,
                "configuration": {"models": list(config.models), "min_points_full": config.min_points_full,
                                  "backtest_origins": config.backtest_origins, "selection": config.selection,
                                  "report_years": list(config.report_years), "history_kinds": list(HISTORY_KINDS),
                                  "indicators": wanted_ind, "dimensions": wanted_dim,
                                  "horizon_year": config.horizon_year, "current_year": config.current_year,
                                  # per series: chosen scale, model weights, widening, backtest scores
                                  "fits": {i: results[i].fits for i in wanted_ind},
                                  # the interval calibration used, and where it came from
                                  "calibration": calibration.to_json() if calibration is not None else None,
                                  "calibrated_on": calibrated_on},
                "duration_s": time.perf_counter() - t0,
            },
            forecasts=table, crossovers=crossovers, details=out.details,
        )  # fmt: skip
        if kind == "official" and out.dimensions:
            measured = dimension_scores(shares, catalog, seed=seed, pair=pair)
            published = dimension_build(measured, out.dimensions, catalog, pair).filter(
                pl.col("dimension").is_in(list(out.dimensions))
            ).with_columns(pl.lit(pair_label(pair)).alias("pair"))
            writer.save_dimension_scores(published, build_id=run_id, fingerprint=fingerprint)
    return ForecastOutcome(run_id=run_id, kind=kind, as_of=as_of, forecasts=table, crossovers=crossovers,
                           warnings=out.warnings, seconds=time.perf_counter() - t0, details=out.details,
                           calibrated_on=calibrated_on)  # fmt: skip


def backtest_subjects(
    reader: Reader,
    catalog: Catalog,
    *,
    indicators: Sequence[str] | None,
    from_year: int,
    horizon: int = 10,
    n_paths: int = 1000,
    seed: int = 0,
    pair: tuple[str, str] = DEFAULT_PAIR,
) -> list[dict]:
    """Per pair indicator: as-of forecasts from `from_year`, scored on what followed (summary rows)."""
    from forecasts import ForecastConfig, backtest_pair

    ids = list(indicators) if indicators else pair_indicators(catalog)
    unknown = [i for i in ids if i not in catalog]
    if unknown:
        raise UsageError(f"unknown indicator {', '.join(unknown)}")
    observations = history_observations(reader, indicators=ids)
    config = ForecastConfig(horizon=horizon, n_paths=n_paths, seed=seed, workers=1)
    rows = []
    for indicator in ids:
        entry = catalog.get(indicator)
        history = observations.filter(pl.col("indicator") == indicator).select("country", "year", "value")
        if history.height == 0:
            rows.append({"subject": indicator, "n_as_of": 0, "note": "insufficient_data"})
            continue
        result = backtest_pair(history, series_spec(entry), config, from_year=from_year, pair=pair)
        rows.append({"subject": indicator, **result.summary, "note": "; ".join(result.warnings[:2])})
    return rows
