"""Data commands: db upgrade, status, refresh, import, evidence, build, dimensions and the main job `run`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer

from aitrack.cli import render
from aitrack.cli.app import FormatOption, app, check_format, console, context, db_app, err_console, user_errors
from aitrack.context import AppContext
from aitrack.errors import UsageError
from aitrack.jobs import build as build_job
from aitrack.jobs import forecast as forecast_job
from aitrack.jobs import ingest
from aitrack.jobs.catalog import current_catalog, sync_catalog
from contracts.dimensions import DIMENSION_NAMES
from contracts.kinds import EVIDENCE_KINDS
from contracts.pair import DEFAULT_PAIR, pair_label


@db_app.command("upgrade")
@user_errors
def db_upgrade() -> None:
    """Create the database or migrate it to the latest schema (SQLite or PostgreSQL)."""
    ctx = context()
    before, after = ctx.upgrade_database()
    url = ctx.engine.url.render_as_string(hide_password=True)
    if before == after:
        console.print(f"database {url} already at revision {after}")
    else:
        console.print(f"database {url} upgraded from {before or 'empty'} to {after}")


@app.command()
@user_errors
def status(
    fmt: FormatOption = "table",
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when a source failed its last run or is staler than its cadence.")
    ] = False,
) -> None:
    """Per source: last fetch run, status, rows, newest vintage and data year; per table: row counts."""
    from aitrack.monitoring import stale_or_failed

    check_format(fmt, ("table", "json"))
    reader = context().require_schema()
    sources = reader.source_status()
    counts = reader.table_counts()
    problems = stale_or_failed(sources) if check else []
    if fmt == "json":
        body = {"sources": sources, "tables": counts}
        if check:
            body["problems"] = problems
        sys.stdout.write(json.dumps(body, indent=2, default=str) + "\n")
    else:
        console.print(render.status_tables(sources, counts))
        for problem in problems:
            err_console.print(f"[red]check:[/red] {problem}", highlight=False)
    if check and problems:
        raise typer.Exit(code=1)


def refresh_exit_code(outcomes: list[Any]) -> int:
    """0 every source fine, 1 some failed (the rest stored), 2 none stored."""
    failed = sum(o.status == "failed" for o in outcomes)
    if not outcomes or failed == len(outcomes):
        return 2
    return 1 if failed else 0


@app.command()
@user_errors
def refresh(
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only these sources (repeatable); default: all live sources.")
    ] = None,
    since: Annotated[int | None, typer.Option(help="Earliest year to fetch.", min=1900, max=2100)] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Load the embedded snapshot instead of the network.")] = False,
    then_forecast: Annotated[
        bool, typer.Option("--then-forecast", help="After fetching, rebuild indicators and dimensions and re-forecast.")
    ] = False,
) -> None:
    """Fetch sources into the database (each source in its own transaction); exit 0 all fine, 1 partial, 2 failed,
    3 locked."""
    from aitrack.locking import refresh_lock

    ctx = context()
    with refresh_lock(ctx.settings.data_dir):
        reader = ctx.require_schema()
        catalog = current_catalog(reader)
        sync_catalog(ctx.writer, catalog)
        if offline or ctx.settings.offline:
            if source and set(source) != {"snapshot"}:
                raise UsageError("--offline loads the whole embedded snapshot; drop --source or use --source snapshot")
            with render.SourceProgress([]) as progress:
                outcomes = ingest.load_snapshot(ctx.writer, catalog, progress=progress)
        else:
            plan = ingest.live_plan(ctx.settings, catalog, sources=source, since=since)
            with render.SourceProgress([f.info.id for f, _, _ in plan]) as progress:
                outcomes = ingest.run_fetchers(
                    ctx.writer, plan, trigger="refresh", workers=ctx.settings.refresh_workers, progress=progress
                )
        console.print(render.outcomes_table(outcomes, "Refresh"))
        code = refresh_exit_code(outcomes)
        if then_forecast and code < 2:
            build_and_forecast(ctx, catalog)
    raise typer.Exit(code=code)


@app.command("import")
@user_errors
def import_file(
    path: Annotated[Path, typer.Argument(help="Long CSV: indicator,country,year,value,unit,source,source_url,value_kind[,licence,notes]")],
) -> None:
    """Import an analyst's own series; a file with any bad row is rejected whole, with the row number."""
    ctx = context()
    reader = ctx.require_schema()
    catalog = current_catalog(reader)
    outcome, new_ids = ingest.import_user_file(ctx.writer, catalog, path)
    if new_ids:
        console.print(f"registered new user indicator(s): {', '.join(new_ids)}")
    console.print(render.outcomes_table([outcome], f"Import {path.name}"))


@app.command()
@user_errors
def evidence(
    indicator: Annotated[str | None, typer.Option(help="Only evidence linked to this indicator id (or uncatalogued).")] = None,
    kind: Annotated[str | None, typer.Option(help=" | ".join(EVIDENCE_KINDS))] = None,
    country: Annotated[str | None, typer.Option(help="ISO3 code, e.g. CHN, or a pair, CHN-USA.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Figures cited in the seed documents: quote, value, kind, and the seed's author, title, year, URL and line.
    The same filters, values and messages as /api/evidence."""
    from aitrack.present.evidence import COLUMNS, with_citations
    from aitrack.queries import EvidenceFilter, ReaderVocabulary, check_known, filter_evidence

    check_format(fmt, ("table", "json", "csv"))
    query = EvidenceFilter.parse(indicator=indicator, kind=kind, country=country)
    reader = context().require_schema()
    check_known(query, ReaderVocabulary(reader, current_catalog(reader)))
    rows = filter_evidence(with_citations(reader.evidence()[0]), query)
    if fmt in ("json", "csv"):
        render.write_rows(rows.to_dicts(), COLUMNS, fmt)
        return
    console.print(render.evidence_table(rows))


@app.command()
@user_errors
def build() -> None:
    """Compute derived indicators and the four dimension scores from the stored observations."""
    ctx = context()
    reader = ctx.require_schema()
    catalog = current_catalog(reader)
    sync_catalog(ctx.writer, catalog)
    result = build_job.build(reader, ctx.writer, catalog)
    if result.derived is not None:
        console.print(render.outcomes_table([result.derived], "Derived indicators"))
    console.print(f"dimension scores: {result.dimension_rows} rows (build {result.build_id})")
    console.print(render.dimensions_table(result.scores))


@app.command()
@user_errors
def dimensions(
    fmt: FormatOption = "table",
    year: Annotated[int | None, typer.Option(help="Only this year (default: every year in JSON, latest in the table).")] = None,
) -> None:
    """The four dimensions — values, cohesion, influence, legitimacy: score, 80/95% bands, coverage, leader."""
    check_format(fmt, ("table", "json"))
    reader = context().require_schema()
    scores, _ = reader.dimension_scores(year=year)
    if scores.height == 0:
        raise UsageError("no dimension scores yet: run `aitrack build` (or `aitrack run`)")
    if fmt == "json":
        out = []
        for dimension in DIMENSION_NAMES:
            rows = scores.filter(pl.col("dimension") == dimension).sort("year")
            out.append({
                "dimension": dimension,
                "pair": pair_label(DEFAULT_PAIR),
                "years": rows.drop("dimension", "pair", "build_id", "computed_at").to_dicts(),
            })
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return
    console.print(render.dimensions_table(scores))


def build_and_forecast(ctx: AppContext, catalog: Any, result: build_job.BuildResult | None = None
                       ) -> forecast_job.ForecastOutcome:  # fmt: skip
    """After new data landed: derived indicators and dimensions (unless `result` has them), then the official
    forecasts and crossovers."""
    if result is None:
        result = build_job.build(ctx.reader, ctx.writer, catalog)
    if result.derived is not None:
        console.print(render.outcomes_table([result.derived], "Derived indicators"))
    console.print(render.dimensions_table(result.scores))
    with console.status("forecasting every pair indicator and dimension…"):
        outcome = forecast_job.forecast_subjects(ctx.reader, ctx.writer, catalog, workers=2, official=True)
    err_console.print(f"forecast run {outcome.run_id}: {len(outcome.crossovers)} subjects in {outcome.seconds:.1f} s")
    return outcome


@app.command("run")
@user_errors
def run_main_job() -> None:
    """The main job on the embedded snapshot: database, snapshot and evidence, indicators and dimensions, forecasts."""
    from aitrack.present import crossovers as crossover_presentation
    from aitrack.report import write_report

    from aitrack.jobs.snapshot import prepare_snapshot_database

    ctx = context()
    with render.SourceProgress([]) as progress:
        prepared = prepare_snapshot_database(ctx.engine, progress=progress)
    reader, catalog, outcomes = prepared.reader, prepared.catalog, prepared.outcomes
    console.print(render.outcomes_table(outcomes, "Embedded snapshot"))
    console.print(f"seed evidence: {prepared.n_evidence} rows loaded")
    build_and_forecast(ctx, catalog, prepared.build)
    console.print(render.status_tables(reader.source_status(), reader.table_counts()))
    console.print(render.latest_values_table(reader.latest_observations(countries=list(DEFAULT_PAIR)), catalog))
    # The run just published is the official one: show it as every surface does (the stored rows, in their order).
    views = crossover_presentation.load(reader, catalog)
    render.print_wide(render.crossover_table(views))
    written = render.write_crossover_files(ctx.settings.data_dir, views)
    written.append(write_report(reader, ctx.settings.data_dir / "report.html", catalog=catalog))
    console.print("wrote " + ", ".join(str(p) for p in written))
    failed = [o.source for o in outcomes if o.status == "failed"]
    if failed:
        err_console.print(f"[red]error:[/red] snapshot sources failed to load: {', '.join(failed)}")
        raise typer.Exit(code=1)
