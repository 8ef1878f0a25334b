"""Forecast commands: forecast, crossovers, backtest (rendering in aitrack.cli.render)."""

from __future__ import annotations

from typing import Annotated

import typer

from aitrack.cli import render
from aitrack.cli.app import (
    OUTPUT_FORMATS, AsOfOption, DimensionOption, HorizonOption, IndicatorOption, OutOption, PairOption, PathsOption,
    PublishOption, SeedOption, app, check_format, chosen_pair, console, context, err_console, user_errors,
)  # fmt: skip
from contracts.countries import is_valid_code
from contracts.pair import DEFAULT_PAIR, pair_label
from contracts.records import REPORT_YEARS
from aitrack.errors import UsageError
from aitrack.jobs import forecast as forecast_job
from aitrack.jobs.catalog import current_catalog
from aitrack.present import crossovers as crossover_presentation


def _run_forecast(indicator, dimension, all_subjects, as_of, horizon, paths, seed, publish=False, pair=DEFAULT_PAIR):
    ctx = context()
    reader = ctx.require_schema()
    catalog = current_catalog(reader)
    if all_subjects or (not indicator and not dimension):
        indicator, dimension = None, None
    with console.status("forecasting (backtest selection, joint paths)…"):
        outcome = forecast_job.forecast_subjects(
            reader, ctx.writer, catalog, indicators=indicator, dimensions=dimension, as_of=as_of, horizon=horizon,
            n_paths=paths, seed=seed, workers=2, official=publish, pair=pair,
        )  # fmt: skip
    return outcome, catalog


def _world_panel(indicator, countries_text, as_of, horizon, paths, seed, fmt, out) -> None:
    """`forecast --countries all|ISO3,ISO3…`: every country's forecast of each indicator, one batch each."""
    from aitrack.jobs import panel

    if not indicator:
        raise UsageError("--countries needs --indicator ID (the world panel is forecast one indicator at a time)")
    countries = None
    if countries_text.strip().lower() != "all":
        countries = [c.strip().upper() for c in countries_text.split(",") if c.strip()]
        bad = [c for c in countries if len(c) != 3 or not c.isalpha()]
        if bad or not countries:
            raise UsageError(f"--countries is `all` or ISO3 codes separated by commas, got {countries_text!r}")
        unknown = [c for c in countries if not is_valid_code(c)]
        if unknown:
            raise UsageError(f"--countries: {', '.join(unknown)} is not an ISO 3166 alpha-3 country code")
    ctx = context()
    reader = ctx.require_schema()
    catalog = current_catalog(reader)
    import polars as pl

    frames = []
    for ind in indicator:
        with console.status(f"forecasting {ind} for every country with enough data…"):
            outcome = panel.forecast_countries(reader, catalog, ind, countries=countries, as_of=as_of, horizon=horizon,
                                               n_paths=paths, seed=seed, workers=2)  # fmt: skip
        frames.append(outcome.forecasts)
        n_done = outcome.forecasts["country"].n_unique()
        err_console.print(f"{ind}: {n_done} of {outcome.n_countries} countries forecast in {outcome.seconds:.1f} s; "
                          f"{len(outcome.skipped)} without a forecast; intervals calibrated on "
                          f"{outcome.calibrated_on}", highlight=False)  # fmt: skip
        for country, why in sorted(outcome.skipped.items()):
            err_console.print(f"[yellow]no forecast:[/yellow] {ind} {country}: {why}", highlight=False)
    render.emit(pl.concat(frames), fmt, out)
    err_console.print("world panel: computed on demand, not stored (docs/pairs.md)")


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
    pair: PairOption = None,
    countries: Annotated[str | None, typer.Option(
        "--countries", help="`all` (every country with enough data) or ISO3,ISO3…: the world panel of --indicator.",
    )] = None,
) -> None:
    """Forecast indicators and dimensions with 80% and 95% intervals; the run is stored with its configuration.
    With --countries, every country's forecast of one indicator (the world panel, computed on demand)."""
    check_format(fmt, OUTPUT_FORMATS)
    if publish and as_of is not None:
        raise UsageError("--publish and --as-of exclude each other: an as-of run is a backtest, never official")
    chosen = chosen_pair(pair)
    if countries is not None:
        if pair is not None or publish or dimension or all_subjects:
            raise UsageError("--countries forecasts the world panel of --indicator: no --pair, --dimension, --all or "
                             "--publish with it")
        _world_panel(indicator, countries, as_of, horizon, paths, seed, fmt, out)
        return
    result, _ = _run_forecast(indicator, dimension, all_subjects, as_of, horizon, paths, seed, publish, chosen)
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
    pair: PairOption = None,
) -> None:
    """When does the trailing side pass the leader? First-passage years from joint sample paths, per subject: the
    crossover presentation (columns in docs/forecasting.md), the same rows as /api/crossovers and the dashboard.
    A pair with no official run stored is forecast on demand (an ad-hoc run: the official results stay as they are)."""
    check_format(fmt, OUTPUT_FORMATS)
    if publish and as_of is not None:
        raise UsageError("--publish and --as-of exclude each other: an as-of run is a backtest, never official")
    chosen = chosen_pair(pair)
    ctx = context()
    reader = ctx.require_schema()
    stored = reader.crossovers(pair=pair_label(chosen))
    fresh = recompute or publish or indicator or dimension or as_of is not None or horizon is not None or not stored
    scores = None
    if fresh:
        result, catalog = _run_forecast(indicator, dimension, False, as_of, horizon or 15, paths, seed, publish, chosen)
        records = result.crossovers
        if chosen != DEFAULT_PAIR and not publish:
            from aitrack.jobs.build import pair_dimension_scores

            # The dimensions' last values for this pair (nothing is stored for it): measured on demand.
            scores = pair_dimension_scores(reader, catalog, chosen, n_draws=200, seed=seed).scores
    else:
        catalog = current_catalog(reader)
        records = stored
    views = crossover_presentation.load(reader, catalog, records, pair=chosen, dimension_scores=scores)
    if fmt == "table" and out is None:
        render.print_wide(render.crossover_table(views, chosen))
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


@app.command()
@user_errors
def race(
    indicator: Annotated[str, typer.Option("--indicator", "-i", help="Indicator id.")],
    top: Annotated[int, typer.Option("--top", help="The top N countries by latest value.", min=2, max=30)] = 10,
    years: Annotated[str, typer.Option("--years", help="Comma-separated years, e.g. 2030,2035.")] = ",".join(
        str(y) for y in REPORT_YEARS),
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    out: OutOption = None,
    paths: PathsOption = 2000,
    seed: SeedOption = 0,
) -> None:
    """Who passes whom: for the top N countries by latest value, P(row ahead of column in each year) from joint
    sample paths (the whole panel forecast in one batch; correlation of one-year changes shrunk toward the panel's
    mean). Computed on demand, not stored; the definition is in docs/pairs.md."""
    from aitrack.jobs import panel

    check_format(fmt, ("table", "json", "csv"))
    try:
        wanted = sorted({int(y) for y in years.split(",") if y.strip()})
    except ValueError:
        raise UsageError(f"--years takes years separated by commas, e.g. 2030,2035; got {years!r}") from None
    if not wanted:
        raise UsageError("--years: give at least one year")
    reader = context().require_schema()
    catalog = current_catalog(reader)
    with console.status(f"forecasting the {indicator} panel and its joint paths…"):
        outcome = panel.race(reader, catalog, indicator, top=top, years=wanted, n_paths=paths, seed=seed)
    if fmt == "table" and out is None:
        for table in render.race_tables(outcome, catalog.get(indicator).name):
            render.print_wide(table)
        for line in render.race_notes(outcome):
            console.print(line, highlight=False)
        return
    if fmt == "json":
        import json

        body = json.dumps(render.race_json(outcome), indent=1, ensure_ascii=False)
    else:
        from aitrack.present.tabular import to_csv

        body = to_csv(outcome.cells(), panel.RACE_CELL_COLUMNS).decode()
    render.write_body(body, out)
