"""The Typer application, its shared options and the rule that a user error is one line and an exit code."""

from __future__ import annotations

import functools
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer
from rich.console import Console

from aitrack import __version__, processes
from aitrack.context import AppContext
from aitrack.errors import AitrackError, UsageError
from aitrack.settings import load_settings
from contracts.dimensions import DIMENSION_NAMES
from contracts.exits import EXIT_CODES_HELP, ExitCode
from contracts.redaction import NO_SECRETS, Scrubber

# Worker processes of any command die with this process (aitrack.processes); in a spawned worker this starts its watch.
processes.bind_children()


class _Typer(typer.Typer):
    """Every command's --help ends with the exit codes."""

    def command(self, *args: Any, **kwargs: Any):  # type: ignore[override]
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        return super().command(*args, **kwargs)


app = _Typer(
    name="aitrack",
    help="US–China AI competition tracker: fetch indicators with provenance, build the four dimensions, "
    "forecast with calibrated intervals, and estimate crossover years. " + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = _Typer(help="Database schema management: upgrade, check, backup, downgrade.", no_args_is_help=True)
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

PairOption = Annotated[
    str | None,
    typer.Option("--pair", help="CHALLENGER,LEADER: two ISO3 codes or EUU (default CHN,USA); see docs/pairs.md."),
]


def chosen_pair(text: str | None) -> tuple[str, str]:
    """--pair's value → (challenger, leader); the default pair when absent; a UsageError (exit 2) when bad."""
    from contracts.countries import resolve_pair
    from contracts.pair import DEFAULT_PAIR

    if text is None:
        return DEFAULT_PAIR
    try:
        return resolve_pair(text)
    except ValueError as exc:
        raise UsageError(f"bad --pair: {exc}") from None


class _Current:
    """The settings of the running command, once `context()` has loaded them (for the error wrapper)."""

    settings: Any = None
    scrubber: Scrubber = NO_SECRETS


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _internal_error(exc: Exception) -> int:
    """One line on stderr, the traceback in the error log file; exit code 4."""
    from aitrack.logs import write_error_log

    scrubber = _Current.scrubber
    log_dir = _Current.settings.resolved_log_dir if _Current.settings is not None else None
    if log_dir is None:
        try:
            log_dir = load_settings().resolved_log_dir
        except AitrackError:
            log_dir = None
    click_context = click.get_current_context(silent=True)
    command = [click_context.command_path] if click_context is not None else ["aitrack"]
    command.append(f"(argv {' '.join(sys.argv[1:])})")
    try:
        where = f"traceback in {write_error_log(exc, log_dir=log_dir, command=command, scrubber=scrubber)}"
    except OSError:
        where = "no writable directory for the traceback"
    message = scrubber.text(f"{type(exc).__name__}: {_first_line(exc)}")
    err_console.print(f"[red]internal error:[/red] {message} ({where})", highlight=False, soft_wrap=True)
    return int(ExitCode.INTERNAL)


def user_errors(func: F) -> F:
    """Every command's exit: an AitrackError is one line on stderr and its exit code (2 bad input, 3 locked…); any
    other exception is an internal error (exit 4: one line, the traceback in the log file); Ctrl-C exits 130 and
    SIGTERM 143, after transactions rolled back and locks were released. Never a traceback on the terminal."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGTERM) if main_thread else None
        if main_thread:
            processes.install_sigterm_handler()
        try:
            return func(*args, **kwargs)
        except AitrackError as exc:
            err_console.print(f"[red]error:[/red] {_Current.scrubber.text(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            processes.terminate_children()
            err_console.print("[red]interrupted[/red] (Ctrl-C): nothing half-written was kept")
            raise typer.Exit(code=130) from None
        except processes.Terminated:
            err_console.print("[red]terminated[/red] (SIGTERM): nothing half-written was kept")
            raise typer.Exit(code=processes.Terminated.exit_code) from None
        except Exception as exc:  # noqa: BLE001 - the one place every unexpected error ends
            raise typer.Exit(code=_internal_error(exc)) from None
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    return wrapper  # type: ignore[return-value]


def context() -> AppContext:
    from aitrack import locking
    from aitrack.logs import configure_logging

    settings = load_settings()
    scrubber = Scrubber(settings.secret_values())
    _Current.settings, _Current.scrubber = settings, scrubber
    configure_logging(settings.log_format, settings.log_level, scrubber=scrubber)
    locking.configure(lease_s=settings.lock_lease_s, heartbeat_s=settings.heartbeat_s)
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
