"""The `aitrack` command line: Typer commands that parse options, call the pipeline, and render results with Rich."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
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

console = Console()
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
    return AppContext(load_settings())


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
def status(fmt: FormatOption = "table") -> None:
    """Per source: last fetch run, status, rows, newest vintage; per table: row counts."""
    _check_format(fmt, ("table", "json"))
    repo = _context().require_schema()
    sources = repo.source_status()
    counts = repo.table_counts()
    if fmt == "json":
        sys.stdout.write(json.dumps({"sources": sources, "tables": counts}, indent=2, default=str) + "\n")
        return
    console.print(render_status_tables(sources, counts))


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


def main() -> None:  # pragma: no cover - thin entry point
    app()


@app.command("run")
@user_errors
def run_main_job() -> None:
    """The main job: create/upgrade the database, load the embedded snapshot and evidence, and print the results."""
    ctx = _context()
    ctx.upgrade_database()
    repo = ctx.repository
    console.print(render_status_tables(repo.source_status(), repo.table_counts()))
