"""Data commands: db upgrade/check/backup/downgrade, status, refresh, import, evidence, build, dimensions and the main
job `run`. Every command that writes takes the job lock (aitrack.locking: file + database)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from sqlalchemy import inspect

from aitrack.cli import render
from aitrack.cli.app import (
    FormatOption, PairOption, app, check_format, chosen_pair, console, context, db_app, err_console, user_errors,
)  # fmt: skip
from aitrack.context import AppContext
from aitrack.errors import UsageError
from aitrack.jobs import build as build_job
from aitrack.jobs import forecast as forecast_job
from aitrack.jobs import ingest
from aitrack.jobs.catalog import current_catalog, sync_catalog
from aitrack.locking import job_lock, refresh_lock
from contracts.dimensions import DIMENSION_NAMES
from contracts.kinds import EVIDENCE_KINDS
from contracts.pair import DEFAULT_PAIR, pair_label


@db_app.command("upgrade")
@user_errors
def db_upgrade(
    no_backup: Annotated[bool, typer.Option("--no-backup", help="SQLite: skip the backup taken before migrating.")] = False,
    drop_invalid: Annotated[
        bool, typer.Option("--drop-invalid", help="Delete stored rows that break a rule a migration adds (0003).")
    ] = False,
) -> None:
    """Create the database or migrate it to the latest schema (SQLite or PostgreSQL); at the latest schema, recreate
    views that were dropped or altered by hand. On SQLite a backup is taken first (<data_dir>/backups/); on PostgreSQL
    take one with pg_dump (docs/operations.md). Refuses a database migrated by a newer aitrack."""
    from db import migrate

    ctx = context()
    url = ctx.engine.url.render_as_string(hide_password=True)
    ctx.current_revision()  # a database of a newer aitrack: one line, nothing touched
    # Before 0003 there is no job_lock table: only this host's file lock can be taken.
    has_lock_table = "job_lock" in inspect(ctx.engine).get_table_names()
    lock = job_lock(ctx.engine, job="db upgrade", data_dir=ctx.settings.data_dir, mark_interrupted=False) \
        if has_lock_table else \
        refresh_lock(ctx.settings.data_dir)
    with lock:
        before, after, copy = ctx.upgrade_database(backup=not no_backup, drop_invalid=drop_invalid)
        if copy is not None:
            console.print(f"backup of the database before the upgrade: {copy}")
        if before != after:
            console.print(f"database {url} upgraded from {before or 'empty'} to {after}")
            return
        views = migrate.view_drift(ctx.engine)
        if views:
            migrate.recreate_views(ctx.engine)
            console.print(f"database {url} at revision {after}: recreated the views ({'; '.join(views)})")
        else:
            console.print(f"database {url} already at revision {after}")
        remaining = migrate.drift_report(ctx.engine)
    if remaining:
        for line in remaining:
            err_console.print(f"[red]drift:[/red] {line}", highlight=False)
        raise typer.Exit(code=1)


@db_app.command("check")
@user_errors
def db_check(fmt: FormatOption = "table") -> None:
    """Compare the live schema with what this aitrack expects (tables, columns, types, CHECK constraints, views);
    exit 1 on any drift."""
    from db import migrate

    check_format(fmt, ("table", "json"))
    ctx = context()
    ctx.current_revision()
    lines = migrate.drift_report(ctx.engine)
    if fmt == "json":
        sys.stdout.write(json.dumps({"revision": migrate.current_revision(ctx.engine), "drift": lines}, indent=2) + "\n")
    elif lines:
        for line in lines:
            err_console.print(f"[red]drift:[/red] {line}", highlight=False)
    else:
        console.print(f"schema at revision {migrate.current_revision(ctx.engine)}: no drift")
    if lines:
        raise typer.Exit(code=1)


@db_app.command("backup")
@user_errors
def db_backup(
    out: Annotated[Path | None, typer.Option("--out", help="Directory for the copy (default <data_dir>/backups).")] = None,
) -> None:
    """SQLite: a consistent copy of the database (online backup, safe while others read). PostgreSQL: use pg_dump."""
    from db import migrate

    ctx = context()
    if not ctx.is_sqlite:
        url = ctx.engine.url
        raise UsageError(
            f"aitrack db backup copies SQLite files; for PostgreSQL run: pg_dump -Fc -h {url.host or 'localhost'} "
            f"-U {url.username or 'aitrack'} {url.database} > aitrack-$(date +%F).dump (docs/operations.md)"
        )
    ctx.current_revision()
    console.print(f"backup written: {migrate.backup_sqlite(ctx.engine, out or ctx.backup_dir())}")


@db_app.command("downgrade")
@user_errors
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. 0002 (see docs/operations.md).")],
    no_backup: Annotated[bool, typer.Option("--no-backup", help="SQLite: skip the backup taken before migrating.")] = False,
) -> None:
    """Migrate down to REVISION (after a backup on SQLite); for going back to an older aitrack."""
    from db import migrate

    ctx = context()
    before = ctx.current_revision()
    known = migrate.known_revisions(ctx.engine)
    if revision != "base" and revision not in known:
        raise UsageError(f"unknown revision {revision!r}; known: {', '.join(sorted(known))}")
    # This host's file lock only: the database lock lives in a table a downgrade below 0003 drops. Stop the schedule
    # on every host first (docs/operations.md).
    with refresh_lock(ctx.settings.data_dir):
        if not no_backup and ctx.is_sqlite and before is not None:
            console.print(f"backup of the database before the downgrade: "
                          f"{migrate.backup_sqlite(ctx.engine, ctx.backup_dir(), label=f'before-{revision}')}")  # fmt: skip
        try:
            migrate.downgrade(ctx.engine, revision, data_dir=ctx.settings.data_dir)
        except migrate.MigrationRefused as exc:
            raise UsageError(str(exc)) from None
    console.print(f"database downgraded from {before} to {migrate.current_revision(ctx.engine) or 'empty'}")


@app.command()
@user_errors
def status(
    fmt: FormatOption = "table",
    check: Annotated[
        bool,
        typer.Option("--check", help="Exit 1 when a source failed, was interrupted, never ran or is staler than its "
                                     "cadence, when official forecasts are older than the data, or on schema drift."),
    ] = False,
) -> None:
    """Per source: last fetch run, status, rows, newest vintage and data year; per table: row counts."""
    from aitrack.monitoring import drift_problems, forecast_problems, stale_or_failed
    from db import migrate
    from fetchers.registry import SOURCES

    check_format(fmt, ("table", "json"))
    ctx = context()
    reader = ctx.require_schema()
    scrub = ctx.scrubber
    sources = [{**s, "error": scrub.text(s["error"])} for s in reader.source_status()]
    counts = reader.table_counts()
    drift = migrate.drift_report(ctx.engine)
    problems = []
    if check:
        from fetchers.snapshot import load_manifests

        # Sources that can run: the live ones, and those with files in the embedded snapshot (a curated source whose
        # files are excluded for their licence cannot, and is not expected to).
        shipped = {entry.source for entry in load_manifests()}
        expected = [sid for sid, spec in SOURCES.items() if spec.kind == "live" or (spec.kind == "curated" and sid in shipped)]
        problems = (stale_or_failed(sources, expected=expected, lease_s=ctx.settings.lock_lease_s)
                    + forecast_problems(reader.freshness()) + drift_problems(drift))  # fmt: skip
    if fmt == "json":
        body = {"sources": sources, "tables": counts, "drift": drift}
        if check:
            body["problems"] = problems
        sys.stdout.write(json.dumps(body, indent=2, default=str) + "\n")
    else:
        console.print(render.status_tables(sources, counts))
        for line in drift if not check else []:
            err_console.print(f"[yellow]drift:[/yellow] {line}", highlight=False)
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
    """Fetch sources into the database (each source in its own transaction, all or nothing); exit 0 all fine,
    1 partial, 2 failed, 3 locked, 4 internal error. The fetching stops at AITRACK_REFRESH_DEADLINE_S."""
    from fetchers.http import Deadline

    ctx = context()
    reader = ctx.require_schema()
    with job_lock(ctx.engine, job="refresh", data_dir=ctx.settings.data_dir):
        catalog = current_catalog(reader)
        sync_catalog(ctx.writer, catalog)
        if offline or ctx.settings.offline:
            if source and set(source) != {"snapshot"}:
                raise UsageError("--offline loads the whole embedded snapshot; drop --source or use --source snapshot")
            with render.SourceProgress([]) as progress:
                outcomes = ingest.load_snapshot(ctx.writer, catalog, progress=progress)
        else:
            deadline = Deadline(ctx.settings.refresh_deadline_s, what="refresh deadline")
            plan = ingest.live_plan(ctx.settings, catalog, sources=source, since=since, deadline=deadline)
            with render.SourceProgress([f.info.id for f, _, _ in plan]) as progress:
                outcomes = ingest.run_fetchers(
                    ctx.writer, plan, trigger="refresh", workers=ctx.settings.refresh_workers, progress=progress,
                    deadline=deadline,
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
    """Import an analyst's own series; a file with any bad row is rejected whole, with the row number (reading stops
    there). The file is read in chunks (any size) and kept by its hash under <data_dir>/raw/."""
    ctx = context()
    reader = ctx.require_schema()
    with job_lock(ctx.engine, job="import", data_dir=ctx.settings.data_dir):
        catalog = current_catalog(reader)
        outcome, new_ids = ingest.import_user_file(ctx.writer, catalog, path, data_dir=ctx.settings.data_dir)
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
    with job_lock(ctx.engine, job="build", data_dir=ctx.settings.data_dir):
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
    pair: PairOption = None,
) -> None:
    """The four dimensions — values, cohesion, influence, legitimacy: score, 80/95% bands, coverage, leader.
    Another pair's scores are the stored ones if it was published, else measured on demand (pair-dependent members
    derived again for it); members a side has no data for are listed."""
    check_format(fmt, ("table", "json"))
    chosen = chosen_pair(pair)
    reader = context().require_schema()
    scores, _ = reader.dimension_scores(year=year, pair=pair_label(chosen))
    missing: dict = {}
    if chosen != DEFAULT_PAIR:
        on_demand = build_job.pair_dimension_scores(reader, current_catalog(reader), chosen)
        missing = on_demand.missing
        if scores.height == 0:
            scores = on_demand.scores if year is None else on_demand.scores.filter(pl.col("year") == year)
    if scores.height == 0:
        if chosen != DEFAULT_PAIR:
            raise UsageError(f"no dimension scores for {pair_label(chosen)}: no member indicator has data for both")
        raise UsageError("no dimension scores yet: run `aitrack build` (or `aitrack run`)")
    if fmt == "json":
        out = []
        for dimension in DIMENSION_NAMES:
            rows = scores.filter(pl.col("dimension") == dimension).sort("year")
            out.append({
                "dimension": dimension,
                "pair": pair_label(chosen),
                "years": rows.drop("dimension", "pair", "build_id", "computed_at", strict=False).to_dicts(),
                "members_without_data": missing.get(dimension, {}),
            })
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return
    console.print(render.dimensions_table(scores, chosen))
    for dimension, gaps in missing.items():
        for side, members in gaps.items():
            console.print(f"coverage: {dimension}: no {side} data for {', '.join(members)}", highlight=False)


def build_and_forecast(ctx: AppContext, catalog: Any, result: build_job.BuildResult | None = None
                       ) -> forecast_job.ForecastOutcome:  # fmt: skip
    """After new data landed: derived indicators and dimensions (unless `result` has them), then the official
    forecasts and crossovers."""
    if result is None:
        result = build_job.build(ctx.reader, ctx.writer, catalog)
    if result.derived is not None:
        console.print(render.outcomes_table([result.derived], "Derived indicators"))
    with console.status("forecasting every pair indicator and dimension…"):
        outcome = forecast_job.forecast_subjects(ctx.reader, ctx.writer, catalog, workers=2, official=True)
    err_console.print(f"forecast run {outcome.run_id}: {len(outcome.crossovers)} subjects in {outcome.seconds:.1f} s")
    # The published scores: measured years and the years that members' nowcasts complete.
    console.print(render.dimensions_table(ctx.reader.dimension_scores()[0]))
    return outcome


@app.command("run")
@user_errors
def run_main_job() -> None:
    """The main job on the embedded snapshot: database, snapshot and evidence, indicators and dimensions, forecasts."""
    from aitrack.present import crossovers as crossover_presentation
    from aitrack.report import write_report

    from aitrack.jobs.snapshot import prepare_snapshot_database

    ctx = context()
    with refresh_lock(ctx.settings.data_dir):
        ctx.upgrade_database()  # refuses a database of a newer aitrack before anything runs
    with job_lock(ctx.engine, job="run", data_dir=ctx.settings.data_dir):
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
