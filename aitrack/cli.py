"""The `aitrack` command line: Typer commands that parse options, call the pipeline, and render results with Rich."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from aitrack import __version__
from aitrack.context import AppContext
from aitrack.errors import AitrackError
from aitrack.settings import load_settings

app = typer.Typer(
    name="aitrack",
    help="US–China AI competition tracker: fetch indicators with provenance, build the four dimensions, "
    "forecast with calibrated intervals, and estimate crossover years.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Piped or captured output (cron logs, `make run > file`) gets a wide console so tables keep their columns.
console = Console(width=None if Console().is_terminal else 160)
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])

FormatOption = Annotated[str, typer.Option("--format", "-f", help="Output format: table or json.")]


def user_errors(func: F) -> F:
    """Turn an AitrackError into one line on stderr and its exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AitrackError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _context() -> AppContext:
    from aitrack.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return AppContext(settings)


def _check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    if fmt not in allowed:
        from aitrack.errors import UsageError

        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(allowed)}")
    return fmt


def _version(value: bool) -> None:
    if value:
        console.print(f"aitrack {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Settings come from AITRACK_* environment variables (see `docs/operations.md`)."""


@db_app.command("upgrade")
@user_errors
def db_upgrade() -> None:
    """Create the database or migrate it to the latest schema (SQLite or PostgreSQL)."""
    ctx = _context()
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
    """Per source: last fetch run, status, rows, newest vintage; per table: row counts."""
    from aitrack.monitoring import stale_or_failed

    _check_format(fmt, ("table", "json"))
    repo = _context().require_schema()
    sources = repo.source_status()
    counts = repo.table_counts()
    problems = stale_or_failed(sources) if check else []
    if fmt == "json":
        body = {"sources": sources, "tables": counts}
        if check:
            body["problems"] = problems
        sys.stdout.write(json.dumps(body, indent=2, default=str) + "\n")
    else:
        console.print(render_status_tables(sources, counts))
        for problem in problems:
            err_console.print(f"[red]check:[/red] {problem}", highlight=False)
    if check and problems:
        raise typer.Exit(code=1)


def render_status_tables(sources: list[dict[str, Any]], counts: dict[str, int]) -> Table:
    grid = Table.grid(padding=(1, 0))
    table = Table(title="Sources", show_lines=False)
    for col in ("source", "last run (UTC)", "status", "added", "revised", "unchanged", "newest vintage", "error"):
        table.add_column(col, overflow="fold")
    if not sources:
        table.add_row("(none yet)", "", "", "", "", "", "", "")
    for s in sources:
        style = {"ok": "green", "failed": "red", "empty": "yellow"}.get(s["status"] or "", "")
        table.add_row(
            s["source"],
            (s["last_run"] or "")[:19].replace("T", " "),
            f"[{style}]{s['status']}[/{style}]" if style else str(s["status"]),
            str(s["rows_added"]),
            str(s["rows_revised"]),
            str(s["rows_unchanged"]),
            s["newest_vintage"] or "",
            (s["error"] or "")[:80],
        )
    tables = Table(title="Tables")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, n in counts.items():
        tables.add_row(name, f"{n:,}")
    grid.add_row(table)
    grid.add_row(tables)
    return grid


def render_outcomes(outcomes: list[Any], title: str) -> Table:
    table = Table(title=title)
    for col in ("source", "status", "added", "revised", "unchanged", "time (s)", "error"):
        table.add_column(col, overflow="fold", justify="right" if col in ("added", "revised", "unchanged", "time (s)") else "left")
    for o in outcomes:
        style = {"ok": "green", "failed": "red", "empty": "yellow"}.get(o.status, "")
        table.add_row(
            o.source, f"[{style}]{o.status}[/{style}]", str(o.added), str(o.revised), str(o.unchanged),
            f"{o.seconds:.1f}", (o.error or "")[:100],
        )  # fmt: skip
    return table


def refresh_exit_code(outcomes: list[Any]) -> int:
    """0 every source fine, 1 some failed (the rest stored), 2 none stored."""
    failed = sum(o.status == "failed" for o in outcomes)
    if not outcomes or failed == len(outcomes):
        return 2
    return 1 if failed else 0


class _SourceProgress:
    """Rich progress: one line per source, ticked by the pipeline's (source, event) callback."""

    def __init__(self, sources: list[str]) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console, transient=False
        )
        self.tasks = {s: self.progress.add_task(f"{s}: waiting", total=1, start=False) for s in sources}

    def __call__(self, source: str, event: str) -> None:
        task = self.tasks.get(source)
        if task is None:
            task = self.tasks[source] = self.progress.add_task(source, total=1, start=False)
        if event == "start":
            self.progress.start_task(task)
            self.progress.update(task, description=f"{source}: fetching")
        else:
            self.progress.update(task, description=f"{source}: {event}", completed=1)

    def __enter__(self) -> "_SourceProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)


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
    """Fetch sources into the database (each source in its own transaction); exit 0 all fine, 1 partial, 2 failed."""
    from aitrack import pipeline
    from aitrack.locking import refresh_lock

    ctx = _context()
    with refresh_lock(ctx.settings.data_dir):
        repo = ctx.require_schema()
        catalog = pipeline.current_catalog(repo)
        pipeline.sync_catalog(repo, catalog)
        if offline or ctx.settings.offline:
            if source and set(source) != {"snapshot"}:
                from aitrack.errors import UsageError

                raise UsageError("--offline loads the whole embedded snapshot; drop --source or use --source snapshot")
            with _SourceProgress([]) as progress:
                outcomes = pipeline.load_snapshot(repo, progress=progress)
        else:
            plan = pipeline.live_plan(ctx.settings, sources=source, since=since)
            with _SourceProgress([f.info.id for f, _, _ in plan]) as progress:
                outcomes = pipeline.run_fetchers(
                    repo, plan, trigger="refresh", workers=ctx.settings.refresh_workers, progress=progress
                )
        console.print(render_outcomes(outcomes, "Refresh"))
        code = refresh_exit_code(outcomes)
        if then_forecast and code < 2:
            _build_and_forecast(ctx, catalog)
    raise typer.Exit(code=code)


@app.command("import")
@user_errors
def import_file(
    path: Annotated[Path, typer.Argument(help="Long CSV: indicator,country,year,value,unit,source,source_url,value_kind[,licence,notes]")],
) -> None:
    """Import an analyst's own series; a file with any bad row is rejected whole, with the row number."""
    from aitrack import pipeline

    ctx = _context()
    repo = ctx.require_schema()
    catalog = pipeline.current_catalog(repo)
    outcome, new_ids = pipeline.import_user_file(repo, catalog, path)
    if new_ids:
        console.print(f"registered new user indicator(s): {', '.join(new_ids)}")
    console.print(render_outcomes([outcome], f"Import {path.name}"))


@app.command()
@user_errors
def evidence(
    indicator: Annotated[str | None, typer.Option(help="Only evidence linked to this indicator id.")] = None,
    kind: Annotated[
        str | None, typer.Option(help="measured | estimate | target | pledge | forecast | claim")
    ] = None,
    country: Annotated[str | None, typer.Option(help="ISO3 code, e.g. CHN.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Figures cited in the seed documents, with file, line and quote."""
    _check_format(fmt, ("table", "json", "csv"))
    repo = _context().require_schema()
    rows = repo.evidence(indicator=indicator, kind=kind, country=country.upper() if country else None)
    if fmt == "json":
        sys.stdout.write(json.dumps(rows.to_dicts(), indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        sys.stdout.write(rows.write_csv())
    else:
        table = Table(title=f"Seed evidence ({rows.height} rows)")
        for col in ("evidence_id", "document", "line", "indicator", "country", "period", "value", "unit", "kind", "quote"):
            table.add_column(col, overflow="fold")
        for r in rows.iter_rows(named=True):
            period = "" if r["period_start"] is None else (
                str(r["period_start"]) if r["period_start"] == r["period_end"] else f"{r['period_start']}–{r['period_end']}"
            )
            value = "" if r["value"] is None else f"{r['value']:,.6g}"
            table.add_row(r["evidence_id"], r["document"][:3], str(r["line"]), r["indicator"], r["country"] or "",
                          period, value, r["unit"], r["value_kind"], r["quote"][:90])  # fmt: skip
        console.print(table)


@app.command()
@user_errors
def build() -> None:
    """Compute derived indicators and the four dimension scores from the stored observations."""
    from aitrack import pipeline

    ctx = _context()
    repo = ctx.require_schema()
    catalog = pipeline.current_catalog(repo)
    pipeline.sync_catalog(repo, catalog)
    result = pipeline.build(repo, catalog)
    if result.derived is not None:
        console.print(render_outcomes([result.derived], "Derived indicators"))
    console.print(f"dimension scores: {result.dimension_rows} rows (build {result.build_id})")
    console.print(render_dimensions(result.scores))


@app.command()
@user_errors
def dimensions(
    fmt: FormatOption = "table",
    year: Annotated[int | None, typer.Option(help="Only this year (default: every year in JSON, latest in the table).")] = None,
) -> None:
    """The four dimensions — values, cohesion, influence, legitimacy: score, 80/95% bands, coverage, leader."""
    import polars as pl

    _check_format(fmt, ("table", "json"))
    repo = _context().require_schema()
    scores = repo.dimensions_latest()
    if scores.height == 0:
        from aitrack.errors import UsageError

        raise UsageError("no dimension scores yet: run `aitrack build` (or `aitrack run`)")
    if year is not None:
        scores = scores.filter(pl.col("year") == year)
    if fmt == "json":
        out = []
        for dimension in ("values", "cohesion", "influence", "legitimacy"):
            rows = scores.filter(pl.col("dimension") == dimension).sort("year")
            out.append({
                "dimension": dimension,
                "pair": "CHN-USA",
                "years": rows.drop("dimension", "pair", "build_id", "computed_at").to_dicts(),
            })
        sys.stdout.write(json.dumps(out, indent=2, default=str) + "\n")
        return
    console.print(render_dimensions(scores))


CROSSOVER_KEYS = (
    "subject", "kind", "pair", "leader_now", "status", "last_crossing_year", "median_year", "lo_80", "hi_80",
    "lo_95", "hi_95", "p_by", "horizon", "n_paths", "model", "run_id",
)  # fmt: skip
OUTPUT_FORMATS = ("table", "csv", "json", "md", "parquet")

IndicatorOption = Annotated[
    list[str] | None, typer.Option("--indicator", "-i", help="Indicator id (repeatable).")
]
DimensionOption = Annotated[
    list[str] | None, typer.Option("--dimension", "-d", help="values | cohesion | influence | legitimacy (repeatable).")
]
AsOfOption = Annotated[
    int | None, typer.Option("--as-of", help="Use only observations up to this year (backtesting).", min=1950, max=2100)
]
HorizonOption = Annotated[int, typer.Option("--horizon", help="Years to forecast past the last observation.", min=1, max=50)]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of the terminal.")]
PathsOption = Annotated[int, typer.Option("--paths", help="Joint sample paths per subject.", min=100, max=100000)]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same output.")]


def crossover_records(crossovers: list[dict]) -> list[dict]:
    """The documented `aitrack crossovers` JSON record (docs/forecasting.md), nothing more."""
    out = []
    for cx in crossovers:
        record = {k: cx.get(k) for k in CROSSOVER_KEYS}
        record["kind"] = cx.get("kind") or cx.get("subject_kind")
        p_by = cx.get("p_by") or {}
        if isinstance(p_by, str):
            p_by = json.loads(p_by)
        record["p_by"] = {str(k): v for k, v in p_by.items()}
        out.append(record)
    return out


def _interval_text(lo: int | None, hi: int | None, horizon: int | None) -> str:
    """'2027–2033'; an end beyond the horizon reads '>2040' (censored paths never crossed within it)."""
    if lo is None and hi is None:
        return ""
    return f"{lo if lo is not None else f'>{horizon}'}–{hi if hi is not None else f'>{horizon}'}"


def crossover_table_rows(crossovers: list[dict], years: tuple[int, ...] = (2030, 2035)) -> list[dict]:
    """One display row per subject: leader now, status, median year with its 80% interval, P(by year), model, source."""
    rows = []
    for cx in crossovers:
        p_by = cx.get("p_by") or {}
        if isinstance(p_by, str):
            p_by = json.loads(p_by)
        interval = _interval_text(cx.get("lo_80"), cx.get("hi_80"), cx.get("horizon"))
        row = {
            "subject": cx["subject"],
            "kind": cx.get("kind") or cx.get("subject_kind"),
            "leader_now": cx.get("leader_now"),
            "status": cx.get("status"),
            "median_year": cx.get("median_year"),
            "interval_80": interval,
        }
        for year in years:
            value = p_by.get(str(year), p_by.get(year))
            row[f"p_by_{year}"] = None if value is None else round(float(value), 3)
        row["model"] = cx.get("model")
        row["source"] = cx.get("source") or ("composite" if row["kind"] == "dimension" else "")
        rows.append(row)
    return rows


def _emit(data: Any, fmt: str, out: Path | None) -> None:
    from forecasts.tables import render

    if fmt == "table" and out is None:
        _print_rich(data)
        return
    body = render(data, fmt)  # type: ignore[arg-type]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(body if isinstance(body, bytes) else body.encode())
        console.print(f"wrote {out}")
    elif isinstance(body, bytes):
        from aitrack.errors import UsageError

        raise UsageError("parquet is binary: give --out FILE")
    else:
        sys.stdout.write(body if body.endswith("\n") else body + "\n")


def _print_rich(data: Any) -> None:
    import polars as pl

    frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data, infer_schema_length=None)
    table = Table()
    for col in frame.columns:
        table.add_column(col, justify="right" if frame.schema[col].is_numeric() else "left", overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else (f"{v:,.4g}" if isinstance(v, float) else str(v)) for v in row])
    console.print(table)


def _run_forecast(indicator, dimension, all_subjects, as_of, horizon, paths, seed):
    from aitrack import pipeline

    ctx = _context()
    repo = ctx.require_schema()
    catalog = pipeline.current_catalog(repo)
    if all_subjects or (not indicator and not dimension):
        indicator, dimension = None, None
    with console.status("forecasting (backtest selection, joint paths)…"):
        return pipeline.forecast_subjects(
            repo, catalog, indicators=indicator, dimensions=dimension, as_of=as_of, horizon=horizon, n_paths=paths,
            seed=seed, workers=2,
        )  # fmt: skip


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
) -> None:
    """Forecast indicators and dimensions with 80% and 95% intervals; the run is stored with its configuration."""
    _check_format(fmt, OUTPUT_FORMATS)
    result = _run_forecast(indicator, dimension, all_subjects, as_of, horizon, paths, seed)
    for subject, notes in result.warnings.items():
        for note in notes:
            err_console.print(f"[yellow]warning:[/yellow] {subject}: {note}", highlight=False)
    _emit(result.forecasts, fmt, out)
    err_console.print(f"run {result.run_id} ({result.seconds:.1f} s)")


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
) -> None:
    """When does the trailing side pass the leader? First-passage years from joint sample paths, per subject."""
    _check_format(fmt, OUTPUT_FORMATS)
    ctx = _context()
    repo = ctx.require_schema()
    stored = repo.crossovers_latest()
    fresh = recompute or indicator or dimension or as_of is not None or horizon is not None or stored.height == 0
    if fresh:
        result = _run_forecast(indicator, dimension, False, as_of, horizon or 15, paths, seed)
        records = result.crossovers
    else:
        from aitrack import pipeline

        catalog = pipeline.current_catalog(repo)
        records = [
            dict(r, kind=r["subject_kind"], source="composite" if r["subject_kind"] == "dimension" else (
                ", ".join(catalog.source_priority(r["subject"])) if r["subject"] in catalog else ""))
            for r in stored.to_dicts()
        ]  # fmt: skip
    if fmt == "json":
        _emit(crossover_records(records), fmt, out)
    else:
        _emit(crossover_table_rows(records), fmt, out)


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
    from aitrack import pipeline

    _check_format(fmt, ("table", "csv", "json", "md"))
    ctx = _context()
    repo = ctx.require_schema()
    catalog = pipeline.current_catalog(repo)
    with console.status("backtesting…"):
        rows = pipeline.backtest_subjects(repo, catalog, indicators=indicator, from_year=from_year, horizon=horizon,
                                          n_paths=paths, seed=seed)  # fmt: skip
    _emit(rows, fmt, out)


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.", min=1, max=32)] = 1,
) -> None:
    """Serve the read-only HTTP API (/api/…, OpenAPI at /docs) and the dashboard page (/)."""
    from aitrack.api import serve as serve_api

    ctx = _context()
    ctx.require_schema()
    err_console.print(f"serving on http://{host}:{port}/ (API at /api, OpenAPI at /docs); Ctrl-C stops")
    serve_api(host=host, port=port, settings=ctx.settings, workers=workers, log_level="warning")


@app.command()
@user_errors
def report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("report.html"),
) -> None:
    """One self-contained HTML file: charts, crossover table, methodology, sources with licences, as-of date."""
    from aitrack import pipeline
    from aitrack.report import write_report

    ctx = _context()
    repo = ctx.require_schema()
    path = write_report(repo, out, catalog=pipeline.current_catalog(repo))
    console.print(f"wrote {path}")


@app.command("run")
@user_errors
def run_main_job() -> None:
    """The main job on the embedded snapshot: database, snapshot and evidence, indicators and dimensions, forecasts."""
    from aitrack import pipeline

    ctx = _context()
    ctx.upgrade_database()
    repo = ctx.repository
    catalog = pipeline.current_catalog(repo)
    pipeline.sync_catalog(repo, catalog)
    with _SourceProgress([]) as progress:
        outcomes = pipeline.load_snapshot(repo, progress=progress)
    n_evidence = pipeline.load_evidence(repo)
    console.print(render_outcomes(outcomes, "Embedded snapshot"))
    console.print(f"seed evidence: {n_evidence} rows loaded")
    outcome = _build_and_forecast(ctx, catalog)
    console.print(render_status_tables(repo.source_status(), repo.table_counts()))
    console.print(render_latest_values(repo, catalog))
    rows = crossover_table_rows(outcome.crossovers)
    console.print(render_crossover_table(rows))
    written = write_crossover_files(ctx.settings.data_dir, outcome.crossovers, rows)
    from aitrack.report import write_report

    written.append(write_report(repo, ctx.settings.data_dir / "report.html", catalog=catalog))
    console.print("wrote " + ", ".join(str(p) for p in written))
    failed = [o.source for o in outcomes if o.status == "failed"]
    if failed:
        err_console.print(f"[red]error:[/red] snapshot sources failed to load: {', '.join(failed)}")
        raise typer.Exit(code=1)


def _build_and_forecast(ctx: AppContext, catalog: Any) -> Any:
    """After new data landed: derived indicators and dimensions, then forecasts and crossovers (stored)."""
    from aitrack import pipeline

    result = pipeline.build(ctx.repository, catalog)
    if result.derived is not None:
        console.print(render_outcomes([result.derived], "Derived indicators"))
    console.print(render_dimensions(result.scores))
    with console.status("forecasting every pair indicator and dimension…"):
        outcome = pipeline.forecast_subjects(ctx.repository, catalog, workers=2)
    err_console.print(f"forecast run {outcome.run_id}: {len(outcome.crossovers)} subjects in {outcome.seconds:.1f} s")
    return outcome


def render_crossover_table(rows: list[dict]) -> Table:
    table = Table(title="Crossovers: when does the trailing side pass the leader? (CHN vs USA; first passage of joint paths)")
    headers = ("subject", "kind", "leader now", "status", "median", "80% interval", "P(by 2030)", "P(by 2035)",
               "model", "source")  # fmt: skip
    for h in headers:
        table.add_column(h, justify="right" if h.startswith("P(") or h == "median" else "left", overflow="fold")
    styles = {"already_crossed": "cyan", "likely_crossed": "magenta", "projected": "green", "not_within_horizon": "yellow", "insufficient_data": "dim"}
    for r in rows:
        style = styles.get(r["status"] or "", "")
        table.add_row(
            r["subject"], r["kind"] or "", r["leader_now"] or "", f"[{style}]{r['status']}[/{style}]",
            "" if r["median_year"] is None else str(r["median_year"]), r["interval_80"],
            "" if r["p_by_2030"] is None else f"{r['p_by_2030']:.2f}",
            "" if r["p_by_2035"] is None else f"{r['p_by_2035']:.2f}", r["model"] or "", r["source"] or "",
        )  # fmt: skip
    return table


def write_crossover_files(data_dir: Path, crossovers: list[dict], rows: list[dict]) -> list[Path]:
    """The crossover table next to the database: CSV (display rows) and JSON (documented records)."""
    from forecasts.tables import render

    data_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = data_dir / "crossovers.csv", data_dir / "crossovers.json"
    csv_path.write_text(str(render(rows, "csv")))
    json_path.write_text(str(render(crossover_records(crossovers), "json")) + "\n")
    return [csv_path, json_path]


def render_dimensions(scores: Any) -> Table:
    """The latest scored year per dimension: score, 80% band, coverage, leader."""
    import polars as pl

    table = Table(title="Dimensions (China's pair share; 0.5 = parity)")
    for col in ("dimension", "year", "score", "80% band", "coverage", "leader", "status"):
        table.add_column(col)
    for dimension in ("values", "cohesion", "influence", "legitimacy"):
        rows = scores.filter(pl.col("dimension") == dimension)
        ok = rows.filter(pl.col("status") == "ok")
        row = (ok if ok.height else rows).sort("year").tail(1).to_dicts()
        if not row:
            table.add_row(dimension, "", "", "", "", "", "insufficient_data")
            continue
        r = row[0]
        score = "" if r["score"] is None else f"{r['score']:.3f}"
        band = "" if r["lo_80"] is None else f"{r['lo_80']:.3f}–{r['hi_80']:.3f}"
        coverage = f"{r['n_present']}/{r['n_indicators']} ({r['weight_present']:.0%} of weight)"
        table.add_row(dimension, str(r["year"]), score, band, coverage, r["leader"] or "", r["status"])
    return table


def render_latest_values(repo: Any, catalog: Any) -> Table:
    """Per catalogued indicator: the latest China and US values, with year and source."""
    import polars as pl

    latest = repo.latest_observations(countries=["CHN", "USA"])
    table = Table(title="Latest values (China and the United States)")
    for col in ("indicator", "unit", "CHN", "year", "USA", "year", "source"):
        table.add_column(col, justify="right" if col in ("CHN", "USA", "year") else "left")
    for entry in catalog:
        rows = latest.filter(pl.col("indicator") == entry.id)
        if entry.evidence_only:
            continue
        cells = []
        sources = set()
        for country in ("CHN", "USA"):
            last = rows.filter(pl.col("country") == country).sort("year").tail(1).to_dicts()
            if last:
                cells += [f"{last[0]['value']:,.4g}", str(last[0]["year"])]
                sources.add(last[0]["source"])
            else:
                cells += ["—", ""]
        if not sources:
            cells_source = "insufficient_data"
        else:
            cells_source = ", ".join(sorted(sources))
        table.add_row(entry.id, entry.unit, *cells, cells_source)
    return table


def main() -> None:  # pragma: no cover - thin entry point
    app()
