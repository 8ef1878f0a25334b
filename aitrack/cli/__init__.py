"""The `aitrack` command line: Typer commands (data, forecasting, provenance, serving) on one app; rendering in
`render`. Every command's --help ends with the exit codes."""

from aitrack.cli import data, forecasting, provenance, serving  # noqa: F401  (registers the commands)
from aitrack.cli.app import app, db_app
from contracts.exits import EXIT_CODES_HELP

for _group in (app, db_app):
    for _command in _group.registered_commands:
        _command.epilog = _command.epilog or EXIT_CODES_HELP


def main() -> None:  # pragma: no cover - thin entry point
    app()


__all__ = ["app", "main"]
