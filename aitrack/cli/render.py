"""Rich rendering for the CLI: job results and read models in, tables (and files of tables) out; no job logic."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from rich.table import Table

from aitrack.cli.app import console, err_console
from aitrack.errors import UsageError
from contracts.dimensions import DIMENSION_NAMES
from contracts.pair import DEFAULT_PAIR, pair_label
from contracts.records import REPORT_YEARS, CrossoverRow

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


def interval_text(lo: int | None, hi: int | None, horizon: int | None) -> str:
    """'2027–2033'; an end beyond the horizon reads 'after 2040' (censored paths never crossed within it)."""
    if lo is None and hi is None:
        return ""
    after = f"after {horizon}"
    return f"{lo if lo is not None else after}–{hi if hi is not None else after}"


def crossover_table_rows(crossovers: Sequence[CrossoverRow], sources: dict[str, str],
                         years: tuple[int, ...] = REPORT_YEARS) -> list[dict]:  # fmt: skip
    """One display row per subject: leader now, status, median year with its 80% interval, P(by year), model, source."""
    rows = []
    for cx in crossovers:
        row: dict[str, Any] = {
            "subject": cx.subject, "kind": cx.subject_kind, "leader_now": cx.leader_now, "status": cx.status,
            "median_year": cx.median_year, "interval_80": interval_text(cx.lo_80, cx.hi_80, cx.horizon),
        }  # fmt: skip
        for year in years:
            value = cx.p_by.get(year)
            row[f"p_by_{year}"] = None if value is None else round(float(value), 3)
        row["model"] = cx.model
        row["source"] = sources.get(cx.subject, "composite" if cx.subject_kind == "dimension" else "")
        rows.append(row)
    return rows


def crossover_table(rows: list[dict], pair: tuple[str, str] = DEFAULT_PAIR) -> Table:
    table = Table(title=f"Crossovers: when does the trailing side pass the leader? ({pair[0]} vs {pair[1]}; "
                        "first passage of joint paths)")  # fmt: skip
    headers = ("subject", "kind", "leader now", "status", "median", "80% interval",
               *(f"P(by {y})" for y in REPORT_YEARS), "model", "source")  # fmt: skip
    for h in headers:
        table.add_column(h, justify="right" if h.startswith("P(") or h == "median" else "left", overflow="fold")
    for r in rows:
        style = CROSSOVER_STYLES.get(r["status"] or "", "")
        p_cells = ["" if r[f"p_by_{y}"] is None else f"{r[f'p_by_{y}']:.2f}" for y in REPORT_YEARS]
        table.add_row(
            r["subject"], r["kind"] or "", r["leader_now"] or "", f"[{style}]{r['status']}[/{style}]",
            "" if r["median_year"] is None else str(r["median_year"]), r["interval_80"], *p_cells, r["model"] or "",
            r["source"] or "",
        )  # fmt: skip
    return table


def dimensions_table(scores: pl.DataFrame) -> Table:
    """The latest scored year per dimension: score, 80% band, coverage, leader."""
    table = Table(title="Dimensions (challenger's pair share; 0.5 = parity)")
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
    body = render(data, fmt)  # type: ignore[arg-type]
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(body if isinstance(body, bytes) else body.encode())
        console.print(f"wrote {out}")
    elif isinstance(body, bytes):
        raise UsageError("parquet is binary: give --out FILE")
    else:
        sys.stdout.write(body if body.endswith("\n") else body + "\n")


def write_crossover_files(data_dir: Path, crossovers: Sequence[CrossoverRow], rows: list[dict]) -> list[Path]:
    """The crossover table next to the database: CSV (display rows) and JSON (the contract records)."""
    from forecasts.tables import render

    data_dir.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = data_dir / "crossovers.csv", data_dir / "crossovers.json"
    csv_path.write_text(str(render(rows, "csv")))
    json_path.write_text(str(render([cx.as_dict() for cx in crossovers], "json")) + "\n")
    return [csv_path, json_path]
