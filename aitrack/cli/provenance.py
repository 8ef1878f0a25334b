"""Provenance commands: every stored vintage of one value with its payload chain, and the raw bytes of a payload."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from aitrack.cli import render
from aitrack.cli.app import app, check_format, console, context, user_errors
from aitrack.errors import UsageError
from aitrack.jobs.catalog import current_catalog


@app.command()
@user_errors
def provenance(
    indicator: Annotated[str, typer.Argument(help="Indicator id, e.g. ai_papers.")],
    country: Annotated[str, typer.Argument(help="ISO3 code, e.g. CHN.")],
    year: Annotated[str, typer.Argument(help="The year the value describes, e.g. 2023.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Every stored vintage of one value: source, series, raw payload URL, retrieval date, licence, sha256, and the
    command that writes the raw bytes (`aitrack payload SHA256 > file`). The same rows as /api/provenance."""
    from aitrack.api.schemas import COLUMNS
    from aitrack.present.provenance import provenance as vintages
    from aitrack.queries import ProvenanceQuery, ReaderVocabulary, check_known

    check_format(fmt, ("table", "json", "csv"))
    query = ProvenanceQuery.parse(indicator=indicator, country=country, year=year)
    reader = context().require_schema()
    check_known(query, ReaderVocabulary(reader, current_catalog(reader)))
    rows = vintages(reader, query).to_dicts()
    if fmt in ("json", "csv"):
        render.write_rows(rows, COLUMNS["provenance"], fmt)
    else:
        console.print(render.provenance_panels(rows))


@app.command()
@user_errors
def payload(
    sha256: Annotated[str, typer.Argument(help="The payload's sha256 (as `aitrack provenance` prints it).")],
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
) -> None:
    """The raw bytes of one stored payload, exactly as they were downloaded: `aitrack payload SHA256 > file`."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256.lower()):
        raise UsageError(f"not a sha256 (64 hexadecimal digits): {sha256!r}")
    found = context().require_schema().payload(sha256.lower())
    if found is None:
        raise UsageError(f"no stored raw payload with sha256 {sha256.lower()}")
    content, media_type = found
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(content)
        console.print(f"wrote {len(content):,} bytes ({media_type}) to {out}")
    elif sys.stdout.isatty():
        raise UsageError(f"refusing to write {len(content):,} bytes of {media_type} to a terminal: "
                         "redirect it (> file) or pass --out FILE")  # fmt: skip
    else:
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
