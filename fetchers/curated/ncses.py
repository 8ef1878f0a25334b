"""NSF NCSES Science & Engineering Indicators table CSVs (wide `field_<year>`, long `time_period,value`, country matrix) → observations."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fetchers.base import RawPayload
from contracts.pair import PAIR_CODE
from fetchers.curated.frame import Reading, clean_label, country_code, observation_frame, parse_number
from fetchers.errors import SchemaDriftError

SOURCE = "ncses"
PATH_SEPARATOR = " -> "
# `field_2019`, `2019`, `field_2019_staying`: a year column, optionally one measure of several per year.
_YEAR_COLUMN = re.compile(r"^(?:field_)?(\d{4})(?:_([a-z0-9_]+))?$")
_LABEL_YEAR = re.compile(r"\((\d{4})\)\s*$")
# NCSES special values besides the ones frame.parse_number knows: `ne` (not estimated: too few papers for a
# citation score) and `na` (not available). Both are a missing value, not a zero.
NOT_ESTIMATED = frozenset({"ne", "na"})
# A title's period: "2000-22", "2003–22", "2000-2022".
_PERIOD = re.compile(r"^(\d{4})\s*[-–]\s*(\d{2}|\d{4})$")


def period_bounds(period: str, year: int) -> tuple[int, int]:
    """(first year, last year) of a table title's period; its last year must be the `year` the value is filed under.

    A total over 2000–22 is one observation with year_start 2000 and year 2022 (contracts.observations), never
    an annual value of 2022.
    """
    match = _PERIOD.match(period.strip())
    if match is None:
        raise ValueError(f"period {period!r} is not YYYY-YY or YYYY-YYYY")
    start, end_text = int(match.group(1)), match.group(2)
    end = int(end_text) if len(end_text) == 4 else start - start % 100 + int(end_text)
    if end < start:
        end += 100
    if end != year:
        raise ValueError(f"period {period!r} ends in {end}, but the value is filed under year {year}")
    if start >= end:
        raise ValueError(f"period {period!r} covers one year; leave `period` out for an annual value")
    return start, end


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str
    unit: str
    table: str  # NCSES table number (e.g. SKTI-5), part of source_series so a value can be traced to its table
    countries: tuple[str, ...] | None = None  # keep only these ISO3 codes (None = every country the table has)


class WideOptions(_Options):
    branch: tuple[str, ...] = ()  # leading path elements a row must sit under, e.g. ("Exports",)
    depth: int | None = None  # keep rows whose path has exactly this many elements (after the branch)
    measure: str | None = None  # `staying` selects field_<year>_staying; None selects plain year columns


class LongOptions(_Options):
    # Long tables carry one value per label. Without `year`, each label ends in its own year, "(2019)";
    # with it, the table is one cross-section and the year (the title's end year) is stated here.
    year: int | None = None
    period: str | None = None  # the period the table title states, e.g. "2000-22", when one value covers it
    values_per_label: int = Field(default=1, ge=1)  # RD-5 repeats each label: GERD, then GERD/GDP
    take: int = Field(default=0, ge=0)  # which of the repeated values is this indicator's

    @model_validator(mode="after")
    def _period_needs_its_year(self) -> "LongOptions":
        if self.period is not None:
            if self.year is None:
                raise ValueError("period: a period total needs `year` (the period's last year)")
            period_bounds(self.period, self.year)
        return self

    @property
    def year_start(self) -> int | None:
        return None if self.period is None or self.year is None else period_bounds(self.period, self.year)[0]


class MatrixOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str
    unit: str
    table: str
    row: str  # the two countries of the pair, as the table spells them
    column: str
    year: int
    period: str

    @model_validator(mode="after")
    def _period_ends_in_year(self) -> "MatrixOptions":
        period_bounds(self.period, self.year)
        return self

    @property
    def year_start(self) -> int:
        return period_bounds(self.period, self.year)[0]


def _read_rows(content: bytes) -> tuple[list[str], list[dict[str, str]]]:
    """CSV rows with duplicated lines removed; a row id that repeats with different values is drift."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SchemaDriftError(f"NCSES table is not UTF-8: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    if "row_id" not in header:
        raise SchemaDriftError(f"NCSES table lacks a row_id column (header: {header[:6]})")
    seen: dict[str, dict[str, str]] = {}
    rows = []
    for row in reader:
        # The flattening transformer repeats some rows verbatim; identical repeats are one row.
        previous = seen.get(row["row_id"])
        if previous is not None:
            if previous != row:
                raise SchemaDriftError(f"NCSES row {row['row_id']} appears twice with different values")
            continue
        seen[row["row_id"]] = row
        rows.append(row)
    return header, rows


def _label_column(header: list[str]) -> str:
    paths = [c for c in header if c.endswith("_full_path")]
    if len(paths) == 1:
        return paths[0]
    if paths:
        raise SchemaDriftError(f"NCSES table has several hierarchy columns: {paths}")
    # Flat tables: the first column after table_id,row_id names the row.
    if len(header) < 3:
        raise SchemaDriftError(f"NCSES table has no label column (header: {header})")
    return header[2]


def _year_columns(header: list[str], measure: str | None) -> dict[str, int]:
    columns = {}
    for name in header:
        match = _YEAR_COLUMN.match(name)
        if match and match.group(2) == measure:
            columns[name] = int(match.group(1))
    if not columns:
        raise SchemaDriftError(f"NCSES table has no year columns for measure {measure!r} (header: {header[:8]})")
    return columns


def ncses_cell(text: str | None) -> tuple[float, str] | None:
    """An NCSES cell → (value, value_kind), or None for an empty, suppressed, `ne` or `na` cell."""
    if text is not None and text.strip().casefold() in NOT_ESTIMATED:
        return None
    return parse_number(text)


def entity_label(part: str) -> str:
    """One element of an NCSES region path as a plain label: HTML entities decoded (`C&#244;te` → `Côte`), footnotes off."""
    return clean_label(html.unescape(part))


def _keep(code: str | None, countries: tuple[str, ...] | None) -> bool:
    return code is not None and (countries is None or code in countries)


def _series(options: _Options, *parts: str) -> str:
    return ":".join([options.table, *[p for p in parts if p]])


def wide_readings(content: bytes, options: WideOptions) -> list[Reading]:
    """Rows of a wide table (one column per year) → readings, one per country and year with a value."""
    header, rows = _read_rows(content)
    label_column = _label_column(header)
    years = _year_columns(header, options.measure)
    readings: list[Reading] = []
    placed: dict[tuple[str, int], str] = {}
    for row in rows:
        path = [entity_label(part) for part in row[label_column].split(PATH_SEPARATOR)]
        if tuple(path[: len(options.branch)]) != options.branch:
            continue
        path = path[len(options.branch):]
        if not path or (options.depth is not None and len(path) != options.depth):
            continue
        code = country_code(path[-1], SOURCE)
        if not _keep(code, options.countries):
            continue
        for column, year in years.items():
            parsed = ncses_cell(row.get(column))
            if parsed is None:
                continue
            value, kind = parsed
            key = (code, year)
            if key in placed:
                raise SchemaDriftError(
                    f"NCSES {options.table}: {code} {year} appears in rows {placed[key]} and {row['row_id']}"
                )
            placed[key] = row["row_id"]
            readings.append(Reading(options.indicator, code, year, value, options.unit,
                                    _series(options, row["row_id"], options.measure or ""), kind))
    return readings


def long_readings(content: bytes, options: LongOptions) -> list[Reading]:
    """Rows of a long `time_period,value` table (the label sits in `time_period`) → readings."""
    header, rows = _read_rows(content)
    if not {"time_period", "value"} <= set(header):
        raise SchemaDriftError(f"NCSES long table lacks time_period/value (header: {header})")
    groups: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault(row["time_period"], []).append(row)
    readings = []
    for label, members in groups.items():
        if len(members) != options.values_per_label:
            raise SchemaDriftError(
                f"NCSES {options.table}: {label!r} has {len(members)} values, expected {options.values_per_label}"
            )
        row = members[options.take]
        path = [part.strip() for part in label.split(PATH_SEPARATOR)]
        last = clean_label(path[-1])
        if options.year is not None:
            year = options.year
        else:
            year_match = _LABEL_YEAR.search(last)
            if year_match is None:
                raise SchemaDriftError(f"NCSES {options.table}: no year in {label!r} and none given in options")
            year = int(year_match.group(1))
            last = _LABEL_YEAR.sub("", last).strip()
        code = country_code(last, SOURCE)
        if not _keep(code, options.countries):
            continue
        parsed = parse_number(row["value"])
        if parsed is None:
            continue
        value, kind = parsed
        readings.append(Reading(options.indicator, code, year, value, options.unit,
                                _series(options, row["row_id"], options.period or ""), kind,
                                year_start=options.year_start))
    _no_repeats(readings, options.table)
    return readings


def matrix_cell(content: bytes, options: MatrixOptions) -> Reading:
    """The pair cell of a symmetric country × country matrix (10060) as one bilateral reading (country XUC).

    Row sums of such a matrix double-count articles with three or more countries, so no per-country
    total is derived from it; only the pair cell is used.
    """
    header, rows = _read_rows(content)
    label_column = header[2]
    by_label = {clean_label(r[label_column]).casefold(): r for r in rows}

    def cell(row_label: str, column_label: str) -> float:
        row = by_label.get(row_label.casefold())
        column = column_label.casefold().replace(" ", "_")
        if row is None or column not in row:
            raise SchemaDriftError(f"NCSES {options.table}: no cell {row_label!r} × {column_label!r}")
        parsed = parse_number(row[column])
        if parsed is None:
            raise SchemaDriftError(f"NCSES {options.table}: cell {row_label!r} × {column_label!r} is empty")
        return parsed[0]

    forward, backward = cell(options.row, options.column), cell(options.column, options.row)
    if forward != backward:
        raise SchemaDriftError(
            f"NCSES {options.table}: matrix is not symmetric for the pair ({forward} vs {backward})"
        )
    return Reading(options.indicator, PAIR_CODE, options.year, forward, options.unit,
                   _series(options, f"{options.row}×{options.column}", options.period),
                   year_start=options.year_start)


def _no_repeats(readings: list[Reading], table: str) -> None:
    keys = [(r.country, r.year) for r in readings]
    if len(keys) != len(set(keys)):
        raise SchemaDriftError(f"NCSES {table}: a country-year appears twice")


def parse_ncses_wide(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(wide_readings(payload.content, WideOptions.model_validate(options)), payload)


def parse_ncses_long(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(long_readings(payload.content, LongOptions.model_validate(options)), payload)


def parse_ncses_matrix(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame([matrix_cell(payload.content, MatrixOptions.model_validate(options))], payload)
