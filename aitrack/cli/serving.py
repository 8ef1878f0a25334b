"""Serving commands: the read-only HTTP API with the dashboard page, and the self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aitrack.cli.app import PairOption, app, chosen_pair, console, context, err_console, user_errors
from aitrack.errors import UsageError
from aitrack.jobs.catalog import current_catalog


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.", min=1, max=32)] = 1,
) -> None:
    """Serve the read-only HTTP API (/api/…, OpenAPI at /docs) and the dashboard (/); a busy port fails before anything
    is announced."""
    from aitrack.api import serve as serve_api

    def announce(url: str) -> None:
        err_console.print(f"serving on {url} (API at /api, OpenAPI at /docs); Ctrl-C stops")

    ctx = context()
    serve_api(host=host, port=port, settings=ctx.settings, workers=workers, log_level="warning", announce=announce)


@app.command()
@user_errors
def report(
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path("report.html"),
    pair: PairOption = None,
) -> None:
    """One self-contained HTML file: charts, crossover table, methodology, sources with licences, as-of date.
    --pair reports another pair's official results (published with `aitrack forecast --pair … --publish`)."""
    from aitrack.report import write_report
    from contracts.pair import DEFAULT_PAIR, pair_label

    chosen = chosen_pair(pair)
    reader = context().require_schema()
    if chosen != DEFAULT_PAIR and not reader.crossovers(pair=pair_label(chosen)):
        raise UsageError(f"no official results stored for {pair_label(chosen)}: run `aitrack forecast --pair "
                         f"{chosen[0]},{chosen[1]} --publish` first (or `aitrack crossovers --pair …` for a table)")
    path = write_report(reader, out, catalog=current_catalog(reader), pair=chosen)
    console.print(f"wrote {path}")
