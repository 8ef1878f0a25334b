"""Rich rendering for the CLI: job results and read models in, tables (and files of tables) out; no job logic."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from rich import box
from rich.markup import escape
from rich.table import Table

from aitrack.cli.app import console, err_console
from aitrack.errors import UsageError
from contracts.dimensions import DIMENSION_NAMES
from contracts.pair import DEFAULT_PAIR, pair_label

STATUS_STYLES = {"ok": "green", "failed": "red", "empty": "yellow"}
CROSSOVER_STYLES = {"already_crossed": "cyan", "likely_crossed": "cyan", "projected": "green",
                    "not_within_horizon": "yellow", "insufficient_data": "dim"}  # fmt: skip


def status_tables(sources: list[dict[str, Any]], counts: dict[str, int]) -> Table:
    grid = Table.grid(padding=(1, 0))
    table = Table(title="Sources", show_lines=False)
    for col in ("source", "last run (UTC)", "trigger", "status", "added", "revised", "unchanged", "newest vintage",
                "newest year", "error"):  # fmt: skip
        table.add_column(col, overflow="fold")
    if not sources:
        table.add_row("(none yet)", *[""] * 9)
    for s in sources:
        style = STATUS_STYLES.get(s["status"] or "", "")
        table.add_row(
            s["source"], (s["last_run"] or "")[:19].replace("T", " "), s.get("trigger") or "",
            f"[{style}]{s['status']}[/{style}]" if style else str(s["status"]), str(s["rows_added"]),
            str(s["rows_revised"]), str(s["rows_unchanged"]), s["newest_vintage"] or "",
            "" if s.get("newest_year") is None else str(s["newest_year"]), (s["error"] or "")[:80],
        )  # fmt: skip
    tables = Table(title="Tables")
    tables.add_column("table")
    tables.add_column("rows", justify="right")
    for name, n in counts.items():
        tables.add_row(name, f"{n:,}")
    grid.add_row(table)
    grid.add_row(tables)
    return grid


def outcomes_table(outcomes: list[Any], title: str) -> Table:
    table = Table(title=title)
    numeric = ("added", "revised", "unchanged", "time (s)")
    for col in ("source", "status", *numeric, "error"):
        table.add_column(col, overflow="fold", justify="right" if col in numeric else "left")
    for o in outcomes:
        style = STATUS_STYLES.get(o.status, "")
        table.add_row(
            o.source, f"[{style}]{o.status}[/{style}]", str(o.added), str(o.revised), str(o.unchanged),
            f"{o.seconds:.1f}", (o.error or "")[:100],
        )  # fmt: skip
    return table


class SourceProgress:
    """Rich progress: one line per source, ticked by the jobs' (source, event) callback."""

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

    def __enter__(self) -> "SourceProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)


def crossover_table(views: Sequence[Any], pair: tuple[str, str] = DEFAULT_PAIR) -> Table:
    """The crossover presentation as a terminal table: the cells of `present.crossovers.display_table`, never wrapped."""
    from aitrack.present.crossovers import display_table

    headers, rows = display_table(views)
    table = Table(title=f"Crossovers ({pair[0]} vs {pair[1]}): first passage of joint sample paths; "
                        "p = provisional (a partial year)", box=box.SIMPLE_HEAD, padding=(0, 1))  # fmt: skip
    for h in headers:
        numeric = h.startswith("P(") or h in ("Median", "Data end")
        table.add_column(h, justify="right" if numeric else "left", no_wrap=True, overflow="ignore")
    for view, cells in zip(views, rows):
        style = CROSSOVER_STYLES.get(view.status, "")
        status_at = headers.index("Status")
        cells = [escape(c) for c in cells]
        if style:
            cells[status_at] = f"[{style}]{cells[status_at]}[/{style}]"
        table.add_row(*cells)
    return table


def print_wide(table: Table) -> None:
    """Print at the table's natural width (a narrow terminal soft-wraps whole lines; no cell is cut mid-word)."""
    from rich.measure import Measurement

    width = Measurement.get(console, console.options.update_width(100_000), table).maximum
    before = console.width
    console.width = max(width, before)  # Console.print caps its width argument at the console's own
    try:
        console.print(table, crop=False)
    finally:
        console.width = before


def dimensions_table(scores: pl.DataFrame, pair: tuple[str, str] = DEFAULT_PAIR) -> Table:
    """The latest scored year per dimension: score, 80% band, coverage, leader."""
    table = Table(title=f"Dimensions ({pair[0]}'s share of {pair[0]} + {pair[1]}; 0.5 = parity)")
    for col in ("dimension", "year", "score", "80% band", "coverage", "leader", "status"):
        table.add_column(col)
    for dimension in DIMENSION_NAMES:
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
        if r.get("weight_nowcast"):
            coverage += f", {r['weight_nowcast']:.0%} nowcast"
        table.add_row(dimension, str(r["year"]), score, band, coverage, r["leader"] or "", r["status"])
    return table


def latest_values_table(latest: pl.DataFrame, catalog: Any, pair: tuple[str, str] = DEFAULT_PAIR) -> Table:
    """Per catalogued indicator: the latest values of the pair, with year and source (provisional years flagged)."""
    table = Table(title=f"Latest values ({pair_label(pair)}; p = provisional, a partial year)")
    for col in ("indicator", "unit", pair[0], "year", pair[1], "year", "source"):
        table.add_column(col, justify="right" if col in (*pair, "year") else "left")
    for entry in catalog:
        if entry.evidence_only:
            continue
        rows = latest.filter(pl.col("indicator") == entry.id)
        cells, sources = [], set()
        for country in pair:
            last = rows.filter(pl.col("country") == country).sort("year").tail(1).to_dicts()
            if last:
                flag = " p" if last[0]["value_kind"] == "provisional" else ""
                cells += [f"{last[0]['value']:,.4g}", f"{last[0]['year']}{flag}"]
                sources.add(last[0]["source"])
            else:
                cells += ["—", ""]
        table.add_row(entry.id, entry.unit, *cells, ", ".join(sorted(sources)) if sources else "insufficient_data")
    return table


def evidence_table(rows: pl.DataFrame) -> Table:
    """Seed evidence with its citation: id, seed (author, year) and line, indicator, country, period, value, quote."""
    table = Table(title=f"Seed evidence ({rows.height} rows)", box=box.SIMPLE_HEAD)
    for col in ("evidence_id", "seed, line", "indicator", "country", "period", "value", "unit", "kind", "quote"):
        table.add_column(col, overflow="fold", no_wrap=col in ("evidence_id", "indicator", "country", "period"))
    for r in rows.iter_rows(named=True):
        period = "" if r["period_start"] is None else (
            str(r["period_start"]) if r["period_start"] == r["period_end"] else f"{r['period_start']}–{r['period_end']}"
        )  # fmt: skip
        value = "" if r["value"] is None else f"{r['value']:,.6g}"
        seed = f"{r['seed_author'] or r['document']} ({r['seed_year'] or '?'}), {r['locator']}"
        table.add_row(r["evidence_id"], escape(seed), r["indicator"], r["country"] or "", period, value, r["unit"],
                      r["value_kind"], escape(r["quote"][:90]))  # fmt: skip
    return table


def print_rich(data: Any) -> None:
    frame = data if isinstance(data, pl.DataFrame) else pl.DataFrame(data, infer_schema_length=None)
    table = Table()
    for col in frame.columns:
        table.add_column(col, justify="right" if frame.schema[col].is_numeric() else "left", overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*["" if v is None else (f"{v:,.4g}" if isinstance(v, float) else str(v)) for v in row])
    console.print(table)


def emit(data: Any, fmt: str, out: Path | None) -> None:
    """Rows (a frame or records) to the terminal or a file, in one of the output formats."""
    from forecasts.tables import render

    if fmt == "table" and out is None:
        print_rich(data)
        return
    write_body(render(data, fmt), out)  # type: ignore[arg-type]


def write_rows(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str) -> None:
    """Rows in documented columns to stdout as JSON or CSV: the bodies the API sends (aitrack.present.tabular)."""
    from aitrack.present.tabular import shape_rows, to_csv

    shaped = shape_rows(rows, columns)
    if fmt == "csv":
        sys.stdout.write(to_csv(shaped, columns).decode())
    else:
        import json

        sys.stdout.write(json.dumps(shaped, indent=1, ensure_ascii=False) + "\n")


def write_body(body: str | bytes, out: Path | None) -> None:
    """A rendered body to `out`, or to stdout (text only: parquet needs --out)."""
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(body if isinstance(body, bytes) else body.encode())
        console.print(f"wrote {out}")
    elif isinstance(body, bytes):
        raise UsageError("parquet is binary: give --out FILE")
    else:
        sys.stdout.write(body if body.endswith("\n") else body + "\n")


def write_crossover_files(data_dir: Path, views: Sequence[Any]) -> list[Path]:
    """The crossover presentation next to the database, as CSV and JSON (the same bodies as /api/crossovers)."""
    from aitrack.present.crossovers import render_file

    data_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = data_dir / "crossovers.csv", data_dir / "crossovers.json"
    csv_path.write_text(str(render_file(views, "csv")), encoding="utf-8")
    json_path.write_text(str(render_file(views, "json")) + "\n", encoding="utf-8")
    return [csv_path, json_path]


def provenance_panels(rows: list[dict[str, Any]]) -> Table:
    """Per stored vintage of one value: the observation, its raw payload (URL, size, licence) and the fetch command."""
    from aitrack.present.formatting import format_value

    grid = Table.grid(padding=(0, 0))
    for r in rows:
        head = (f"[bold]{r['indicator']} {r['country']} {r['year']}[/bold]: {format_value(r['value'], r['unit'])} "
                f"{escape(r['unit'])} ({r['value_kind']})" + (" — [green]current value[/green]" if r["current"] else
                " — an earlier or lower-priority vintage"))  # fmt: skip
        detail = Table.grid(padding=(0, 2))
        detail.add_column(style="dim", no_wrap=True)
        detail.add_column(overflow="fold")
        retrieved = r["retrieved_at"].strftime("%Y-%m-%d %H:%M UTC") if r["retrieved_at"] else ""
        for label, value in (
            ("source", f"{r['source']} · {r['producer']}: {r['source_title']}"),
            ("series", r["source_series"]),
            ("vintage", f"{r['vintage']} (retrieved {retrieved}{', published ' + r['published'] if r['published'] else ''})"),
            ("payload", f"sha256 {r['sha256']} · {r['size_bytes']:,} bytes · {r['media_type']}"),
            ("url", r["payload_url"]),
            ("licence", f"{r['licence'] or 'not recorded'} ({'redistributable' if r['redistributable'] else 'not redistributable'})"),
            ("citation", r["citation"] or "–"),
            ("raw bytes", r["fetch_command"]),
        ):  # fmt: skip
            detail.add_row(label, escape(str(value)))
        grid.add_row(head)
        grid.add_row(detail)
        grid.add_row("")
    return grid


RACE_DEFINITION = "P(row ahead of column in {year})"


def race_tables(outcome: Any, name: str) -> list[Table]:
    """One matrix per year: rows and columns the top N by latest value (best first), cells P(row ahead of column in
    that year) as %; bold where the row trails the column on the latest data (the cell is then a passing)."""
    from aitrack.present.formatting import format_value

    order = outcome.countries
    index = {c: k for k, c in enumerate(outcome.forecast)}
    tables = []
    for year, matrix in outcome.matrices.items():
        table = Table(
            title=f"{RACE_DEFINITION.format(year=year)}: {escape(name)}, {outcome.n_paths:,} joint sample paths",
            caption="Bold: the row trails the column on the latest data, so the cell is P(it has passed by then and is "
                    "still ahead); plain: P(the row is still ahead). A cell and its mirror add to 100% less the paths "
                    "on which the two are equal (listed below when any are).",
            box=box.SIMPLE_HEAD, padding=(0, 1),
        )  # fmt: skip
        table.add_column("country (latest)", no_wrap=True)
        for column in order:
            table.add_column(column, justify="right", no_wrap=True)
        for row in order:
            year_value = outcome.latest.get(row)
            label = row if year_value is None else (
                f"{row} {format_value(year_value[1], outcome.unit)} ({year_value[0]})")
            cells = []
            for column in order:
                if row == column:
                    cells.append("—")
                elif row not in index or column not in index:
                    cells.append("[dim]n/a[/dim]")
                else:
                    i, j = index[row], index[column]
                    text = f"{matrix[i, j]:.0%}"
                    cells.append(text if outcome.ahead_now[i, j] else f"[bold]{text}[/bold]")
            table.add_row(escape(label), *cells)
        tables.append(table)
    return tables


def race_notes(outcome: Any) -> list[str]:
    """The lines under the matrices: countries without a forecast, stale data left out, the correlation used."""
    lines = [f"no forecast for {c}: {why} (its cells are n/a)" for c, why in outcome.missing.items()]
    if not outcome.forecast:
        lines.insert(0, f"none of the top {len(outcome.countries)} countries has a forecast: no matrix")
    for year in outcome.matrices:
        tie = outcome.max_tie(year)
        if tie >= 0.005:
            lines.append(f"{year}: up to {tie:.0%} of paths have two countries at the same value (e.g. both at the "
                         "indicator's lower bound): a cell and its mirror then add to less than 100%")
    if outcome.stale:
        from forecasts.race import RECENT_WITHIN_YEARS

        lines.append(f"left out of the ranking, data end more than {RECENT_WITHIN_YEARS} years before the newest: "
                     + ", ".join(outcome.stale))
    if outcome.correlation is not None and len(outcome.forecast) > 1:
        upper = outcome.correlation[np.triu_indices(len(outcome.forecast), k=1)]
        lines.append(f"correlation of one-year changes: shrunk toward the panel mean {outcome.correlation_target:.2f}; "
                     f"range {upper.min():.2f} to {upper.max():.2f}")  # fmt: skip
    lines.append(f"intervals calibrated on {outcome.calibrated_on}")
    lines.append(f"{outcome.seconds:.1f} s; computed on demand, not stored")
    return lines


def race_json(outcome: Any) -> dict[str, Any]:
    """The race as one JSON object: definition, countries in order, the matrices (null where no forecast), cells."""
    order = outcome.countries
    index = {c: k for k, c in enumerate(outcome.forecast)}

    def matrix(m: Any) -> list[list[float | None]]:
        return [[None if r == c or r not in index or c not in index else round(float(m[index[r], index[c]]), 4)
                 for c in order] for r in order]  # fmt: skip

    return {
        "indicator": outcome.indicator, "definition": "P(row ahead of column in year): share of joint paths",
        "unit": outcome.unit, "lower_is_better": outcome.lower_is_better, "n_paths": outcome.n_paths,
        "countries": order, "latest": {c: {"year": outcome.latest[c][0], "value": outcome.latest[c][1]} for c in order},
        "no_forecast": outcome.missing, "stale_left_out": outcome.stale,
        "correlation_target": round(outcome.correlation_target, 4),
        "matrices": {str(y): matrix(m) for y, m in outcome.matrices.items()}, "cells": outcome.cells(),
    }  # fmt: skip
