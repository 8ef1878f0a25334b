"""Crossover records (contracts.records.CrossoverRow) and the facts they lack in, the one crossover presentation out.

Every surface shows crossovers through this module: the CLI table and its CSV/JSON/Parquet/Markdown, the API's
`/api/crossovers`, the dashboard overview and the report. Statuses, years and probabilities are read from the record
and never recomputed; what the record does not hold (the catalog name and unit, the last observed value of each
side) is joined here, from the catalog and `Reader.latest_observations` (dimension scores for a dimension). The
columns are documented once, in docs/forecasting.md ("The crossover presentation"); a test parses that table.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_type_hints

import polars as pl

from aitrack.present.formatting import DASH, format_value, in_sentence, interval_text, probability_text, year_text
from contracts.countries import country_name
from contracts.kinds import OBSERVED_KINDS, PROVISIONAL
from contracts.observations import annual_only
from contracts.pair import DEFAULT_PAIR, pair_label
from contracts.records import REPORT_YEARS, CrossoverRow


# The statuses in words without their years (filters, legends); `status_text` gives a row's full words.
STATUS_LABELS: dict[str, str] = {
    "already_crossed": "already passed", "likely_crossed": "likely already passed", "projected": "projected",
    "not_within_horizon": "not projected by the horizon", "insufficient_data": "insufficient data",
}  # fmt: skip


def report_year_column(year: int) -> str:
    return f"p_by_{year}"


@dataclass(frozen=True)
class CrossoverView:
    """One subject's crossover as every surface shows it (columns documented in docs/forecasting.md)."""

    subject: str
    name: str
    subject_kind: str
    pair: str
    question: str
    leader_now: str | None
    leader_since: int | None
    data_end_year: int | None
    status: str
    status_text: str
    median_year: int | None
    lo_80: int | None
    hi_80: int | None
    lo_95: int | None
    hi_95: int | None
    p_by_2030: float | None
    p_by_2035: float | None
    p_by_horizon: float | None
    p_after_horizon: float | None
    p_crossed_by_now: float | None
    horizon: int | None
    unit: str
    challenger: str
    challenger_value: float | None
    challenger_year: int | None
    challenger_provisional: bool
    incumbent: str
    incumbent_value: float | None
    incumbent_year: int | None
    incumbent_provisional: bool
    last_crossing_year: int | None
    historical_crossings: list[int]
    model: str
    stale: bool
    n_paths: int
    notes: list[str]
    run_id: str | None
    run_created_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @property
    def has_estimate(self) -> bool:
        """Whether first-passage fields exist: then a missing year lies beyond the horizon ("after 2040")."""
        return self.status != "insufficient_data" and self.p_after_horizon is not None


COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(CrossoverView))
COLUMN_TYPES: dict[str, Any] = get_type_hints(CrossoverView)
assert {report_year_column(y) for y in REPORT_YEARS} <= set(COLUMNS), "a report year without its P(by year) column"


# ---------------------------------------------------------------------------------------------- words
def _names(pair: str) -> tuple[str, str]:
    challenger, incumbent = pair.split("-", 1)
    return challenger, incumbent


def question(record: CrossoverRow) -> str:
    """The question the first-passage fields answer, in words."""
    challenger, incumbent = (in_sentence(code) for code in _names(record.pair))
    if record.leader_now == _names(record.pair)[0]:
        if record.historical_crossings:
            return f"Does {incumbent} regain the lead?"
        return f"Does {incumbent} pass {challenger}?"
    return f"When does {challenger} pass {incumbent}?"


def missing_data_text(entry: Any, has_values: bool, period: tuple[int, int] | None = None) -> str:
    """Why an indicator has no estimate: too little data here, only a multi-year total, or no data here at all —
    then which live source fills it (`aitrack refresh`), or that none does."""
    if has_values or entry is None:
        return "insufficient data"
    if period is not None:
        return f"a {period[0]}–{period[1]} total, not an annual series: shown and cited, never forecast"
    from fetchers.registry import SOURCES

    live = [ref.source for ref in entry.sources if ref.source in SOURCES and SOURCES[ref.source].kind == "live"]
    if live:
        return f"insufficient data: no data in this database; a live refresh of {', '.join(dict.fromkeys(live))} fills it"
    return "insufficient data: no source here"


def status_text(record: CrossoverRow) -> str:
    """The status in words; `likely_crossed` reads 'likely already passed (data end 2020)'."""
    status, horizon = record.status, record.horizon
    if status == "already_crossed":
        if record.last_crossing_year is not None:
            return f"passed in {record.last_crossing_year}"
        return "ahead in all data"
    if status == "likely_crossed":
        end = f" (data end {record.data_end_year})" if record.data_end_year is not None else ""
        return f"likely already passed{end}"
    if status == "projected":
        return f"projected by {horizon}" if horizon is not None else "projected"
    if status == "not_within_horizon":
        return f"not projected by {horizon}" if horizon is not None else "not projected"
    if status == "insufficient_data":
        return "insufficient data"
    return status.replace("_", " ")


def leader_text(view: CrossoverView) -> str:
    if view.leader_now is None:
        return DASH
    since = view.leader_since if view.leader_since is not None else view.last_crossing_year
    return country_name(view.leader_now) + (f" since {since}" if since is not None else "")


def last_value_text(value: float | None, year: int | None, provisional: bool, unit: str) -> str:
    """'103k (2023)'; a provisional (partial-year) value is flagged: '5 (2025 p)'."""
    if value is None:
        return DASH
    return f"{format_value(value, unit)} ({year}{' p' if provisional else ''})"


# ---------------------------------------------------------------------------------------------- the rows
@dataclass(frozen=True)
class LastValue:
    value: float
    year: int
    provisional: bool


def last_values(observations: pl.DataFrame) -> dict[tuple[str, str], LastValue]:
    """(indicator, country) → its newest observed annual value (measured, estimate or provisional)."""
    frame = annual_only(observations).filter(pl.col("value_kind").is_in(OBSERVED_KINDS))
    if frame.height == 0:
        return {}
    newest = frame.sort("year").group_by("indicator", "country", maintain_order=True).last()
    return {
        (r["indicator"], r["country"]): LastValue(float(r["value"]), int(r["year"]), r["value_kind"] == PROVISIONAL)
        for r in newest.iter_rows(named=True)
    }


def dimension_last_values(scores: pl.DataFrame) -> dict[tuple[str, str], LastValue]:
    """A dimension's newest scored year: the challenger's share, and 1 − share for the incumbent (as the crossover
    compares them)."""
    out: dict[tuple[str, str], LastValue] = {}
    if scores.height == 0:
        return out
    scored = scores.filter(pl.col("status") == "ok", pl.col("score").is_not_null()).sort("year")
    for r in scored.group_by("dimension", "pair", maintain_order=True).last().iter_rows(named=True):
        challenger, incumbent = _names(r["pair"])
        out[(r["dimension"], challenger)] = LastValue(float(r["score"]), int(r["year"]), False)
        out[(r["dimension"], incumbent)] = LastValue(1.0 - float(r["score"]), int(r["year"]), False)
    return out


def present(
    records: Iterable[CrossoverRow], *, catalog: Any, observations: pl.DataFrame, dimension_scores: pl.DataFrame,
    run_times: dict[str, datetime] | None = None,
) -> list[CrossoverView]:  # fmt: skip
    """The presentation of `records`, in their order (pure: every input is passed in)."""
    values = last_values(observations)
    values.update(dimension_last_values(dimension_scores))
    periods = {
        r["indicator"]: (int(r["year_start"]), int(r["year"]))
        for r in observations.filter(pl.col("year_start") < pl.col("year")).iter_rows(named=True)
    } if observations.height else {}  # fmt: skip
    run_times = run_times or {}
    units = dict(zip(observations["indicator"], observations["unit"])) if observations.height else {}
    rows = []
    for cx in records:
        challenger, incumbent = _names(cx.pair)
        entry = catalog.entries.get(cx.subject) if cx.subject_kind == "indicator" else None
        if cx.subject_kind == "dimension":
            name, unit = f"Dimension: {cx.subject}", "share"
        else:
            name = entry.name if entry is not None else cx.subject
            unit = entry.unit if entry is not None else units.get(cx.subject, "")
        mine, theirs = values.get((cx.subject, challenger)), values.get((cx.subject, incumbent))
        rows.append(CrossoverView(
            subject=cx.subject, name=name, subject_kind=cx.subject_kind, pair=cx.pair, question=question(cx),
            leader_now=cx.leader_now, leader_since=cx.leader_since, data_end_year=cx.data_end_year,
            status=cx.status,
            status_text=(missing_data_text(entry, bool(mine or theirs), periods.get(cx.subject))
                         if cx.status == "insufficient_data"
                         and cx.subject_kind == "indicator" else status_text(cx)),
            median_year=cx.median_year, lo_80=cx.lo_80,
            hi_80=cx.hi_80, lo_95=cx.lo_95, hi_95=cx.hi_95, p_by_2030=cx.p_by.get(2030), p_by_2035=cx.p_by.get(2035),
            p_by_horizon=None if cx.p_after_horizon is None else 1.0 - cx.p_after_horizon,
            p_after_horizon=cx.p_after_horizon, p_crossed_by_now=cx.p_crossed_by_now, horizon=cx.horizon, unit=unit,
            challenger=challenger, challenger_value=mine.value if mine else None,
            challenger_year=mine.year if mine else None, challenger_provisional=bool(mine and mine.provisional),
            incumbent=incumbent, incumbent_value=theirs.value if theirs else None,
            incumbent_year=theirs.year if theirs else None, incumbent_provisional=bool(theirs and theirs.provisional),
            last_crossing_year=cx.last_crossing_year, historical_crossings=list(cx.historical_crossings),
            model=cx.model, stale=cx.stale, n_paths=cx.n_paths, notes=list(cx.notes), run_id=cx.run_id,
            run_created_at=run_times.get(cx.run_id) if cx.run_id else None,
        ))  # fmt: skip
    return rows


def _rederived(reader: Any, catalog: Any, observations: pl.DataFrame, pair: tuple[str, str]) -> pl.DataFrame:
    """The pair's observations with its pair-dependent derived series (stored for the default pair) derived again."""
    from indicators.derive import DERIVATIONS, pairwise_indicators, rederive_for_pair

    inputs = sorted({i for name in pairwise_indicators() for i in DERIVATIONS[name].inputs})
    every = reader.latest_observations(indicators=inputs, kinds=OBSERVED_KINDS)
    rederived = rederive_for_pair(pl.concat([observations, every], how="vertical_relaxed").unique(), catalog, pair)
    return rederived.filter(pl.col("country").is_in(list(pair)))


def load(reader: Any, catalog: Any, records: Sequence[CrossoverRow] | None = None, *,
         pair: tuple[str, str] = DEFAULT_PAIR, dimension_scores: pl.DataFrame | None = None) -> list[CrossoverView]:
    """The I/O edge: the stored official crossovers of `pair` (or `records`, e.g. of an ad-hoc run) and the facts they
    lack; `dimension_scores` (default: the stored ones of the pair) give the dimensions' last values."""
    if records is None:
        records = reader.crossovers(pair=pair_label(pair))
    countries = sorted({c for cx in records for c in _names(cx.pair)})
    observations = reader.latest_observations(countries=countries or None, kinds=OBSERVED_KINDS)
    if pair != DEFAULT_PAIR:
        observations = _rederived(reader, catalog, observations, pair)
    scores = reader.dimension_scores(pair=pair_label(pair))[0] if dimension_scores is None else dimension_scores
    return present(records, catalog=catalog, observations=observations, dimension_scores=scores,
                   run_times=reader.crossover_run_times())  # fmt: skip


# ---------------------------------------------------------------------------------------------- the table's text
def _p_horizon_header(views: Sequence[CrossoverView]) -> str:
    horizons = {v.horizon for v in views if v.horizon is not None}
    return f"P(by {horizons.pop()})" if len(horizons) == 1 else "P(by horizon)"


def display_headers(views: Sequence[CrossoverView]) -> list[str]:
    pairs = {v.pair for v in views} or {"CHN-USA"}
    challenger, incumbent = _names(sorted(pairs)[0]) if len(pairs) == 1 else ("challenger", "incumbent")
    return ["Subject", "Question", "Leader", "Data end", "Status", "Median", "80% interval", "95% interval",
            *(f"P(by {y})" for y in REPORT_YEARS), _p_horizon_header(views), "Unit", f"{challenger} last",
            f"{incumbent} last", "Model", "Stale"]  # fmt: skip


def display_cells(view: CrossoverView, *, common_horizon: bool = True) -> list[str]:
    """The row's text cells, in `display_headers` order: the CLI table and the dashboard overview print exactly these."""
    from aitrack.present.formatting import unit_label

    open_ended = view.has_estimate
    p_horizon = probability_text(view.p_by_horizon)
    if not common_horizon and view.p_by_horizon is not None and view.horizon is not None:
        p_horizon += f" by {view.horizon}"
    return [
        view.subject, view.question, leader_text(view), DASH if view.data_end_year is None else str(view.data_end_year),
        view.status_text, year_text(view.median_year, view.horizon, open_ended=open_ended),
        interval_text(view.lo_80, view.hi_80, view.horizon, open_ended=open_ended),
        interval_text(view.lo_95, view.hi_95, view.horizon, open_ended=open_ended),
        *(probability_text(getattr(view, report_year_column(y))) for y in REPORT_YEARS), p_horizon,
        unit_label(view.unit),
        last_value_text(view.challenger_value, view.challenger_year, view.challenger_provisional, view.unit),
        last_value_text(view.incumbent_value, view.incumbent_year, view.incumbent_provisional, view.unit),
        view.model or DASH, "stale" if view.stale else "",
    ]  # fmt: skip


def display_table(views: Sequence[CrossoverView]) -> tuple[list[str], list[list[str]]]:
    """Headers and text rows: one definition for the terminal table and the dashboard overview."""
    common = _p_horizon_header(views) != "P(by horizon)"
    return display_headers(views), [display_cells(v, common_horizon=common) for v in views]


# ---------------------------------------------------------------------------------------------- data files
_POLARS_TYPES = {int: pl.Int64(), float: pl.Float64(), str: pl.String(), bool: pl.Boolean()}


def _dtype(hint: Any) -> pl.DataType:
    """int | None → Int64, list[int] → List(Int64), datetime | None → Datetime(UTC)."""
    import types

    base = hint
    if isinstance(hint, types.UnionType):
        base = next(a for a in hint.__args__ if a is not type(None))
    if getattr(base, "__origin__", None) is list:
        return pl.List(_POLARS_TYPES[base.__args__[0]])
    if base is datetime:
        return pl.Datetime("us", "UTC")
    return _POLARS_TYPES[base]


SCHEMA: dict[str, pl.DataType] = {name: _dtype(COLUMN_TYPES[name]) for name in COLUMNS}


def to_frame(views: Sequence[CrossoverView]) -> pl.DataFrame:
    """The presentation as a typed polars frame (the Tracker's return value, and Parquet)."""
    rows = [v.as_dict() for v in views]
    return pl.DataFrame({name: [r[name] for r in rows] for name in COLUMNS}, schema=SCHEMA, strict=False)


def render_file(views: Sequence[CrossoverView], fmt: str) -> str | bytes:
    """json, csv and parquet: the documented columns (CSV and JSON bodies equal the API's); md: the display table."""
    from aitrack.present.tabular import shape_rows, to_csv

    rows = shape_rows([v.as_dict() for v in views], COLUMNS)
    if fmt == "json":
        import json

        return json.dumps(rows, indent=1, ensure_ascii=False)
    if fmt == "csv":
        return to_csv(rows, COLUMNS).decode()
    if fmt == "parquet":
        buffer = io.BytesIO()
        to_frame(views).write_parquet(buffer)
        return buffer.getvalue()
    if fmt == "md":
        headers, cells = display_table(views)
        escape = lambda text: text.replace("|", "\\|")  # noqa: E731
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    raise ValueError(f"unknown format {fmt!r}")
