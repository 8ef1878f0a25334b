"""The Typer application, its shared options and the rule that a user error is one line and an exit code."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from aitrack import __version__
from aitrack.context import AppContext
from aitrack.errors import AitrackError, UsageError
from aitrack.settings import load_settings
from contracts.dimensions import DIMENSION_NAMES
from contracts.exits import EXIT_CODES_HELP

app = typer.Typer(
    name="aitrack",
    help="US–China AI competition tracker: fetch indicators with provenance, build the four dimensions, "
    "forecast with calibrated intervals, and estimate crossover years. " + EXIT_CODES_HELP,
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

OUTPUT_FORMATS = ("table", "csv", "json", "md", "parquet")
FormatOption = Annotated[str, typer.Option("--format", "-f", help="Output format: table or json.")]
IndicatorOption = Annotated[
    list[str] | None, typer.Option("--indicator", "-i", help="Indicator id (repeatable).")
]
DimensionOption = Annotated[
    list[str] | None, typer.Option("--dimension", "-d", help=f"{' | '.join(DIMENSION_NAMES)} (repeatable).")
]
AsOfOption = Annotated[
    int | None, typer.Option("--as-of", help="Use only observations up to this year (backtesting).", min=1950, max=2100)
]
HorizonOption = Annotated[int, typer.Option("--horizon", help="Years to forecast past the last observation.", min=1, max=50)]
OutOption = Annotated[Path | None, typer.Option("--out", help="Write to this file instead of the terminal.")]
PathsOption = Annotated[int, typer.Option("--paths", help="Joint sample paths per subject.", min=100, max=100000)]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed: same seed, same output.")]
PublishOption = Annotated[
    bool,
    typer.Option("--publish", help="Store as the official run that views, API and dashboard show (default: ad hoc)."),
]


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


def context() -> AppContext:
    from aitrack.logs import configure_logging

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level)
    return AppContext(settings)


def check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    if fmt not in allowed:
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
