"""The `aitrack` command line: Typer commands (data, forecasting, serving) on one app; rendering in `render`."""

from aitrack.cli import data, forecasting, serving  # noqa: F401  (registers the commands)
from aitrack.cli.app import app


def main() -> None:  # pragma: no cover - thin entry point
    app()


__all__ = ["app", "main"]
