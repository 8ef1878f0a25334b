"""Forecast commands: forecast, crossovers, backtest (rendering in aitrack.cli.render)."""

from __future__ import annotations

from typing import Annotated

import typer

from aitrack.cli import render
from aitrack.cli.app import (
    OUTPUT_FORMATS, AsOfOption, DimensionOption, HorizonOption, IndicatorOption, OutOption, PathsOption,
    PublishOption, SeedOption, app, check_format, console, context, err_console, user_errors,
)  # fmt: skip
from aitrack.errors import UsageError
from aitrack.jobs import forecast as forecast_job
from aitrack.jobs.catalog import current_catalog
from aitrack.present import crossovers as crossover_presentation


def _run_forecast(indicator, dimension, all_subjects, as_of, horizon, paths, seed, publish=False):
    ctx = context()
    reader = ctx.require_schema()
    catalog = current_catalog(reader)
    if all_subjects or (not indicator and not dimension):
        indicator, dimension = None, None
    with console.status("forecasting (backtest selection, joint paths)…"):
        outcome = forecast_job.forecast_subjects(
            reader, ctx.writer, catalog, indicators=indicator, dimensions=dimension, as_of=as_of, horizon=horizon,
            n_paths=paths, seed=seed, workers=2, official=publish,
        )  # fmt: skip
    return outcome, catalog


@app.command()
@user_errors
def forecast(
    indicator: IndicatorOption = None,
    dimension: DimensionOption = None,
    all_subjects: Annotated[bool, typer.Option("--all", help="Every pair indicator and every dimension (default).")] = False,
    as_of: AsOfOption = None,
    horizon: HorizonOption = 15,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json, md or parquet.")] = "table",
    out: OutOption = None,
    paths: PathsOption = 2000,
    seed: SeedOption = 0,
    publish: PublishOption = False,
) -> None:
    """Forecast indicators and dimensions with 80% and 95% intervals; the run is stored with its configuration."""
    check_format(fmt, OUTPUT_FORMATS)
    if publish and as_of is not None:
        raise UsageError("--publish and --as-of exclude each other: an as-of run is a backtest, never official")
    result, _ = _run_forecast(indicator, dimension, all_subjects, as_of, horizon, paths, seed, publish)
    for subject, notes in result.warnings.items():
        for note in notes:
            err_console.print(f"[yellow]warning:[/yellow] {subject}: {note}", highlight=False)
    render.emit(result.forecasts, fmt, out)
    err_console.print(f"run {result.run_id} ({result.kind}, {result.seconds:.1f} s); intervals calibrated on "
                      f"{result.calibrated_on}")


@app.command()
@user_errors
def crossovers(
    indicator: IndicatorOption = None,
    dimension: DimensionOption = None,
    as_of: AsOfOption = None,
    horizon: Annotated[int | None, typer.Option("--horizon", help="Years past the last observation.", min=1, max=50)] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json, md or parquet.")] = "table",
    out: OutOption = None,
    paths: PathsOption = 2000,
    seed: SeedOption = 0,
    recompute: Annotated[bool, typer.Option("--recompute", help="Forecast again even if a stored run exists.")] = False,
    publish: PublishOption = False,
) -> None:
    """When does the trailing side pass the leader? First-passage years from joint sample paths, per subject: the
    crossover presentation (columns in docs/forecasting.md), the same rows as /api/crossovers and the dashboard."""
    check_format(fmt, OUTPUT_FORMATS)
    if publish and as_of is not None:
        raise UsageError("--publish and --as-of exclude each other: an as-of run is a backtest, never official")
    ctx = context()
    reader = ctx.require_schema()
    stored = reader.crossovers()
    fresh = recompute or publish or indicator or dimension or as_of is not None or horizon is not None or not stored
    if fresh:
        result, catalog = _run_forecast(indicator, dimension, False, as_of, horizon or 15, paths, seed, publish)
        records = result.crossovers
    else:
        catalog = current_catalog(reader)
        records = stored
    views = crossover_presentation.load(reader, catalog, records)
    if fmt == "table" and out is None:
        render.print_wide(render.crossover_table(views))
    else:
        render.write_body(crossover_presentation.render_file(views, "md" if fmt == "table" else fmt), out)


@app.command()
@user_errors
def backtest(
    indicator: IndicatorOption = None,
    from_year: Annotated[int, typer.Option("--from", help="First as-of year.", min=1950, max=2100)] = 2015,
    horizon: HorizonOption = 10,
    paths: PathsOption = 1000,
    seed: SeedOption = 0,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv, json or md.")] = "table",
    out: OutOption = None,
) -> None:
    """For each as-of year: forecast from the data then, score against what followed (coverage, MASE, crossings)."""
    check_format(fmt, ("table", "csv", "json", "md"))
    reader = context().require_schema()
    catalog = current_catalog(reader)
    with console.status("backtesting…"):
        rows = forecast_job.backtest_subjects(reader, catalog, indicators=indicator, from_year=from_year,
                                              horizon=horizon, n_paths=paths, seed=seed)  # fmt: skip
    render.emit(rows, fmt, out)
