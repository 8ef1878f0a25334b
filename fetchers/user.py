"""An analyst's long CSV (indicator,country,year,value,unit,source,source_url,value_kind[,licence,notes]) → a checked
import: all rows as observations, or a UserFileError naming the first bad row.

Files are read as a stream, in chunks of CHUNK_ROWS rows: memory stays bounded whatever the file's size, and the first
bad row stops the reading (the rest of the file is never read). Every chunk is checked by the project's one set of
value rules (`contracts.validation`: ASCII digits, bounded text without control characters, unit ranges, no observed
value in a future year, the catalog's unit) before it is handed on.

`UserFetcher.extract` copies each file into a spool directory while it hashes and checks it (the raw file is then kept
by its hash on disk); `iter_chunks` reads the copy again and yields observation frames for the writer, whose single
transaction takes them all or nothing.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, ClassVar, NamedTuple

import polars as pl
from pydantic import Field

from contracts.kinds import VALUE_KINDS
from contracts.observations import OBSERVATION_SCHEMA, utcnow, validate_observations
from contracts.validation import (
    PROVENANCE_LIMITS,
    TEXT_LIMITS,
    YEAR_RANGE,
    first_violation,
    parse_decimal,
    parse_year,
    text_problem,
)
from fetchers.base import Fetcher, RawPayload, SourceInfo, SourceQuery, stack_observations
from contracts.countries import is_valid_code
from fetchers.errors import FetchError

if TYPE_CHECKING:
    import httpx

SOURCE = "user"
REQUIRED_COLUMNS = ("indicator", "country", "year", "value", "unit", "source", "source_url", "value_kind")
OPTIONAL_COLUMNS = ("licence", "notes", "scale", "lower", "upper")
# How an imported series is forecast: its scale (level | log | logit) and hard bounds, the same on every row of it.
FORECAST_COLUMNS = ("scale", "lower", "upper")
SCALES = ("level", "log", "logit")
_EXTRA_FIELDS = "\0extra"  # where csv puts the cells of a row longer than the header
_INDICATOR_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$", re.ASCII)
# Rows checked (and handed to the writer) at a time: the memory an import needs does not grow with the file.
CHUNK_ROWS = 2_500
# One file registers at most this many indicators (the per-indicator bookkeeping is what memory grows with).
MAX_INDICATORS = 1_000
# Distinct publications and licences named in the stored citation; more are counted, not listed.
MAX_CITATIONS = 50
_READ_BLOCK = 1 << 20
_YEARS = YEAR_RANGE[1] - YEAR_RANGE[0] + 1
PROVENANCE_SCHEMA = {
    "indicator": pl.String(),
    "country": pl.String(),
    "year": pl.Int64(),
    "source_name": pl.String(),
    "source_url": pl.String(),
    "licence": pl.String(),
    "notes": pl.String(),
}
_CHUNK_SCHEMA = {k: OBSERVATION_SCHEMA[k] for k in ("indicator", "country", "year", "value", "unit", "value_kind",
                                                     "source_series")}  # fmt: skip


class UserFileError(FetchError):
    """The file was rejected whole; `row` is the 1-based data row (None: the header or the file itself)."""

    def __init__(self, reason: str, *, filename: str, row: int | None = None, line: int | None = None,
                 column: str | None = None) -> None:
        where = f"row {row}" if row is not None else "header"
        super().__init__(f"{filename}: {where}: {reason}")
        self.reason = reason
        self.filename = filename
        self.row = row
        self.line = line
        self.column = column


class NewIndicator(NamedTuple):
    """An indicator id the catalog does not know yet, with the unit the file gives it (unpacks as `id, unit`)."""

    id: str
    unit: str


@dataclass(frozen=True)
class UserFileSummary:
    """What checking a whole file found out, in bounded memory: its hash, size, rows, new indicators and citation."""

    filename: str
    sha256: str
    size_bytes: int
    n_rows: int
    new_indicators: tuple[NewIndicator, ...]
    citation: str  # every distinct "source <source_url>" of the file, "; "-joined (the first MAX_CITATIONS)
    licence: str | None  # every distinct licence the file states, "; "-joined; None when it states none
    forecast_options: dict[str, dict] = field(default_factory=dict)  # indicator → {scale, bounds} the file states


@dataclass(frozen=True)
class UserImport:
    """A fully checked file held in memory (small files, tests): every data row as an observation, its citation."""

    filename: str
    sha256: str
    payload: RawPayload  # the file's bytes as a raw payload, to be stored beside the observations
    observations: pl.DataFrame  # the observation contract; source = "user"
    provenance: pl.DataFrame  # per observation: the file's own source name, URL, licence, notes
    new_indicators: tuple[NewIndicator, ...]
    citation: str
    licence: str | None
    forecast_options: dict[str, dict] = field(default_factory=dict)  # indicator → {scale, bounds} the file states


def _text(cell: str | None) -> str:
    return (cell or "").strip()


def _forecast_option(options: dict[str, dict], indicator: str, row: dict, value: float, fail) -> None:
    """Read the row's optional scale/lower/upper; they must agree across an indicator's rows and hold its values."""
    scale = _text(row.get("scale")) or None
    if scale is not None and scale not in SCALES:
        raise fail(f"scale {scale[:20]!r} is not one of {', '.join(SCALES)}", "scale")
    bounds = []
    for column in ("lower", "upper"):
        text = _text(row.get(column))
        try:
            bounds.append(parse_decimal(text) if text else None)
        except ValueError as exc:
            raise fail(f"{column} {exc}", column) from None
    lower, upper = bounds
    if lower is not None and upper is not None and not lower < upper:
        raise fail(f"lower {lower:g} is not below upper {upper:g}", "lower")
    if (lower is not None and value < lower) or (upper is not None and value > upper):
        raise fail(f"value {value:g} is outside its bounds [{lower}, {upper}]", "value")
    if scale == "logit" and (lower is None or upper is None):
        raise fail("a logit scale needs lower and upper", "scale")
    mine = {"scale": scale, "bounds": (lower, upper)}
    if indicator in options and options[indicator] != mine:
        raise fail(f"scale/lower/upper differ from an earlier row of {indicator}", "scale")
    options[indicator] = mine


@lru_cache(maxsize=4096)
def _valid_country(code: str) -> bool:
    return len(code) == 3 and code.isascii() and is_valid_code(code)


@lru_cache(maxsize=8192)
def _short_text_problem(column: str, text: str, limit: int) -> str | None:
    return text_problem(column, text, limit)


def _cell_problem(column: str, text: str, limit: int) -> str | None:
    """text_problem, remembered for short cells (publication names and URLs repeat on every row of a file)."""
    if len(text) <= 512:
        return _short_text_problem(column, text, limit)
    return text_problem(column, text, limit)


class _Distinct:
    """Distinct strings in first-seen order, keeping the first `limit` and counting the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: dict[str, None] = {}
        self.more: set[int] = set()

    def add(self, item: str) -> None:
        if item in self.items:
            return
        if len(self.items) < self.limit:
            self.items[item] = None
        elif len(self.more) < 100_000:  # hashes only, bounded: enough to say "and N more"
            self.more.add(hash(item))

    def joined(self) -> str:
        text = "; ".join(self.items)
        return text + (f"; and {len(self.more)} more" if self.more else "")


@dataclass
class _FileState:
    """Per-file bookkeeping whose size depends on the indicators and countries named, never on the number of rows."""

    units: dict[str, tuple[str, int]] = field(default_factory=dict)  # indicator → (unit, first row)
    # (indicator, country) → one bit per year of YEAR_RANGE: which keys were given (duplicates are then re-located).
    seen: dict[tuple[str, str], bytearray] = field(default_factory=dict)
    citations: _Distinct = field(default_factory=lambda: _Distinct(MAX_CITATIONS))
    licences: _Distinct = field(default_factory=lambda: _Distinct(MAX_CITATIONS))
    options: dict[str, dict] = field(default_factory=dict)  # indicator → its stated scale and bounds
    n_rows: int = 0

    def mark(self, indicator: str, country: str, year: int) -> bool:
        """Record the key; False when it was already given."""
        bits = self.seen.get((indicator, country))
        if bits is None:
            bits = self.seen[(indicator, country)] = bytearray((_YEARS + 7) // 8)
        offset = year - YEAR_RANGE[0]
        byte, bit = divmod(offset, 8)
        if bits[byte] & (1 << bit):
            return False
        bits[byte] |= 1 << bit
        return True


class _Checker:
    """Reads one file's rows, checks them, and yields them as chunk frames (row numbers alongside)."""

    def __init__(self, *, filename: str, known_indicators: Iterable[str], catalog_units: Mapping[str, str] | None,
                 now: datetime, keep_provenance: bool = False) -> None:  # fmt: skip
        self.filename = filename
        self.known = frozenset(known_indicators)
        self.catalog_units = dict(catalog_units or {})
        self.now = now
        self.state = _FileState()
        self.keep_provenance = keep_provenance
        self.provenance: list[dict] = []

    def fail(self, reason: str, *, row: int | None = None, line: int | None = None,
             column: str | None = None) -> UserFileError:  # fmt: skip
        return UserFileError(reason, filename=self.filename, row=row, line=line, column=column)

    def _header(self, reader: csv.DictReader) -> list[str]:
        header = [_text(c) for c in (reader.fieldnames or [])]
        reader.fieldnames = header
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise self.fail(f"missing column(s): {', '.join(missing)}", line=1, column=missing[0])
        unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
        if unknown:
            raise self.fail(
                f"unknown column(s): {', '.join(repr(c) for c in unknown)}; allowed: "
                f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}", line=1, column=unknown[0])  # fmt: skip
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise self.fail(f"column(s) repeated: {', '.join(repeated)}", line=1)
        return header

    def _row(self, number: int, line: int, row: dict, header: list[str],
             rescan: Callable[[], Iterator[tuple[int, dict]]]) -> dict:  # fmt: skip
        def fail(reason: str, column: str | None = None) -> UserFileError:
            return self.fail(reason, row=number, line=line, column=column)

        extra_fields = row.get(_EXTRA_FIELDS)
        if extra_fields:
            raise fail(f"{len(header) + len(extra_fields)} fields, the header has {len(header)}")
        if any(row[c] is None for c in header):
            raise fail(f"fewer fields than the header's {len(header)}")
        indicator = _text(row["indicator"])
        if not _INDICATOR_ID.match(indicator):
            raise fail(f"indicator {indicator[:80]!r} is not an id (lower case letters, digits, _)", "indicator")
        country = _text(row["country"]).upper()
        if not _valid_country(country):
            raise fail(f"country {row['country'][:40]!r} is not an ISO 3166 alpha-3 code or a kept aggregate", "country")
        try:
            year = parse_year(row["year"])
        except ValueError as exc:
            raise fail(f"year {exc}", "year") from None
        try:
            value = parse_decimal(row["value"])
        except ValueError as exc:
            raise fail(f"value {exc}", "value") from None
        unit = _text(row["unit"])
        if not unit:
            raise fail("unit is empty", "unit")
        kind = _text(row["value_kind"])
        if kind not in VALUE_KINDS:
            raise fail(f"value_kind {row['value_kind'][:40]!r} is not one of {', '.join(VALUE_KINDS)}", "value_kind")
        source_name, source_url = _text(row["source"]), _text(row["source_url"])
        if not source_name:
            raise fail("source is empty: name the publication the figure comes from", "source")
        if not source_url:
            raise fail("source_url is empty: give where the figure can be checked", "source_url")
        licence, notes = _text(row.get("licence")), _text(row.get("notes"))
        for column, text, limit in (("unit", unit, TEXT_LIMITS["unit"]), ("source", source_name, TEXT_LIMITS["source_series"]),
                                    ("source_url", source_url, PROVENANCE_LIMITS["source_url"]),
                                    ("licence", licence, PROVENANCE_LIMITS["licence"]),
                                    ("notes", notes, PROVENANCE_LIMITS["notes"])):  # fmt: skip
            problem = _cell_problem(column, text, limit)
            if problem:
                raise fail(problem, column)
        units = self.state.units
        if indicator in units and units[indicator][0] != unit:
            raise fail(f"unit {unit!r} differs from {units[indicator][0]!r} given to {indicator} in row "
                       f"{units[indicator][1]}", "unit")  # fmt: skip
        if indicator not in units:
            if len(units) >= MAX_INDICATORS:
                raise fail(f"more than {MAX_INDICATORS} indicators in one file; split it", "indicator")
            units[indicator] = (unit, number)
        _forecast_option(self.state.options, indicator, row, value, fail)
        if not self.state.mark(indicator, country, year):
            first = next((n for n, r in rescan() if n < number and _text(r.get("indicator")) == indicator
                          and _text(r.get("country")).upper() == country and _text(r.get("year")) == str(year)), None)  # fmt: skip
            where = f"row {first}" if first is not None else "an earlier row"
            raise fail(f"{indicator} {country} {year} already given in {where}")
        self.state.citations.add(f"{source_name} <{source_url}>")
        if licence:
            self.state.licences.add(licence)
        if self.keep_provenance:
            self.provenance.append({"indicator": indicator, "country": country, "year": year,
                                    "source_name": source_name, "source_url": source_url,
                                    "licence": licence or None, "notes": notes or None})  # fmt: skip
        return {"indicator": indicator, "country": country, "year": year, "value": value, "unit": unit,
                "value_kind": kind, "source_series": source_name}  # fmt: skip

    def _check_chunk(self, rows: list[dict], numbers: list[int]) -> pl.DataFrame:
        frame = pl.DataFrame(rows, schema=_CHUNK_SCHEMA)
        violation = first_violation(frame, now=self.now, catalog_units=self.catalog_units)
        if violation is not None:
            raise self.fail(violation.reason, row=numbers[violation.index], column=violation.column)
        return frame

    def chunks(self, text: io.TextIOBase, rescan: Callable[[], Iterator[tuple[int, dict]]]) -> Iterator[pl.DataFrame]:
        """Chunk frames of checked rows (indicator … source_series); UserFileError at the first bad row."""
        reader = csv.DictReader(text, restkey=_EXTRA_FIELDS)
        try:
            header = self._header(reader)
            rows: list[dict] = []
            numbers: list[int] = []
            number = 0
            for number, raw in enumerate(reader, start=1):
                try:
                    rows.append(self._row(number, reader.line_num, raw, header, rescan))
                except UserFileError:
                    if rows:  # an earlier row of this chunk may break a value rule: that one is the first bad row
                        self._check_chunk(rows, numbers)
                    raise
                numbers.append(number)
                if len(rows) >= CHUNK_ROWS:
                    yield self._check_chunk(rows, numbers)
                    rows, numbers = [], []
            if rows:
                yield self._check_chunk(rows, numbers)
            self.state.n_rows = number
        except UnicodeDecodeError as exc:
            raise self.fail(f"not UTF-8 text ({exc.reason} near data row {reader.line_num})") from None
        except csv.Error as exc:
            raise self.fail(f"not a readable CSV file ({exc}) near data row {reader.line_num}") from None
        if self.state.n_rows == 0:
            raise self.fail("no data rows")

    def summary(self, sha256: str, size: int) -> UserFileSummary:
        new = tuple(NewIndicator(i, u) for i, (u, _) in sorted(self.state.units.items()) if i not in self.known)
        return UserFileSummary(filename=self.filename, sha256=sha256, size_bytes=size, n_rows=self.state.n_rows,
                               new_indicators=new, citation=self.state.citations.joined(),
                               licence=self.state.licences.joined() or None,
                               forecast_options={i: o for i, o in self.state.options.items()
                                                 if o.get("scale") or o.get("bounds") != (None, None)})  # fmt: skip


def _numbered_rows(open_text: Callable[[], io.TextIOBase]) -> Iterator[tuple[int, dict]]:
    """(row number, raw row) from the start of the file: used only to name the row a duplicate repeats."""
    with open_text() as text:
        reader = csv.DictReader(text, restkey=_EXTRA_FIELDS)
        reader.fieldnames = [_text(c) for c in (reader.fieldnames or [])]
        yield from enumerate(reader, start=1)


def _text_stream(binary: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")


def with_provenance(frame: pl.DataFrame, *, sha256: str, retrieved_at: datetime) -> pl.DataFrame:
    """A chunk of checked rows → the observation contract (source `user`, the file's hash, the import date)."""
    when = retrieved_at.astimezone(timezone.utc)
    return validate_observations(frame.with_columns(
        pl.lit(SOURCE).alias("source"),
        pl.lit(when, dtype=pl.Datetime("us", "UTC")).alias("retrieved_at"),
        pl.lit(when.date().isoformat()).alias("vintage"),
        pl.lit(sha256).alias("snapshot_id"),
    ))  # fmt: skip


def parse_user_csv(content: bytes, *, known_indicators: set[str] | frozenset[str], filename: str,
                   retrieved_at: datetime, url: str | None = None,
                   catalog_units: Mapping[str, str] | None = None) -> UserImport:  # fmt: skip
    """Check every row of a file held in memory; return them all or raise UserFileError for the first problem.

    source_series is the file's `source` column (the publisher the analyst cites), so the same indicator imported from
    two publications stays two series; `source_url`, `licence` and `notes` go to `provenance`.
    """
    if retrieved_at.tzinfo is None:
        raise ValueError("retrieved_at must be timezone-aware (UTC)")
    checker = _Checker(filename=filename, known_indicators=known_indicators, catalog_units=catalog_units,
                       now=retrieved_at, keep_provenance=True)  # fmt: skip
    sha256 = hashlib.sha256(content).hexdigest()
    reopen = lambda: _text_stream(io.BytesIO(content))  # noqa: E731
    frames = list(checker.chunks(reopen(), lambda: _numbered_rows(reopen)))
    summary = checker.summary(sha256, len(content))
    observations = with_provenance(pl.concat(frames), sha256=sha256, retrieved_at=retrieved_at)
    when = retrieved_at.astimezone(timezone.utc)
    payload = RawPayload(source=SOURCE, url=url or filename, params={"file": filename}, status=200, content=content,
                         retrieved_at=when, media_type="text/csv", extra={"filename": filename})  # fmt: skip
    return UserImport(
        filename=filename, sha256=sha256, payload=payload, observations=observations,
        provenance=pl.DataFrame(checker.provenance, schema=PROVENANCE_SCHEMA), new_indicators=summary.new_indicators,
        citation=summary.citation, licence=summary.licence, forecast_options=summary.forecast_options,
    )  # fmt: skip


class _TeeReader(io.RawIOBase):
    """A binary file read once: every block goes into a sha256, and into a spool copy when one is given."""

    def __init__(self, source: BinaryIO, spool: BinaryIO | None) -> None:
        self.source = source
        self.spool = spool
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        block = self.source.read(len(buffer))
        n = len(block)
        buffer[:n] = block
        if n:
            self.digest.update(block)
            self.size += n
            if self.spool is not None:
                self.spool.write(block)
        return n


def _clean_spool(directory: Path, older_than_s: float = 86400.0) -> None:
    """Remove copies left by an import that was killed while copying (older than a day)."""
    cutoff = time.time() - older_than_s
    for stale in directory.glob(".incoming-*"):
        try:
            if stale.stat().st_mtime < cutoff:
                stale.unlink()
        except OSError:
            pass


def check_user_file(path: Path, *, known_indicators: Iterable[str] = (), catalog_units: Mapping[str, str] | None = None,
                    spool_dir: Path | None = None, now: datetime | None = None) -> tuple[UserFileSummary, Path]:  # fmt: skip
    """Read the file once: hash it, check every row (stopping at the first bad one) and, with `spool_dir`, copy it
    there as `<sha256>.csv`. Returns the summary and the path to read it from again (the copy, or the file)."""
    path = Path(path)
    filename = path.name
    checker = _Checker(filename=filename, known_indicators=known_indicators, catalog_units=catalog_units,
                       now=now or utcnow())  # fmt: skip
    tmp: Path | None = None
    spool = None
    if spool_dir is not None:
        spool_dir.mkdir(parents=True, exist_ok=True)
        _clean_spool(spool_dir)
        fd, name = tempfile.mkstemp(prefix=".incoming-", dir=spool_dir)
        tmp, spool = Path(name), os.fdopen(fd, "wb")
    try:
        with path.open("rb") as source:
            tee = _TeeReader(source, spool)
            text = _text_stream(io.BufferedReader(tee, buffer_size=_READ_BLOCK))
            for _ in checker.chunks(text, lambda: _numbered_rows(lambda: _text_stream(path.open("rb")))):
                pass
            while tee.readinto(bytearray(_READ_BLOCK)):  # a trailing part the CSV reader did not need
                pass
        sha256 = tee.digest.hexdigest()
        if spool is not None:
            spool.close()
            spool = None
            target = spool_dir / f"{sha256}.csv"
            os.replace(tmp, target)
            tmp = None
            return checker.summary(sha256, tee.size), target
        return checker.summary(sha256, tee.size), path
    finally:
        if spool is not None:
            spool.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def iter_user_chunks(path: Path, summary: UserFileSummary, *, retrieved_at: datetime,
                     catalog_units: Mapping[str, str] | None = None) -> Iterator[pl.DataFrame]:  # fmt: skip
    """The checked file read again, as observation frames of at most CHUNK_ROWS rows; the file must still hash to
    `summary.sha256` (a file changed since it was checked is an error, found at its end, before anything commits)."""
    checker = _Checker(filename=summary.filename, known_indicators=(), catalog_units=catalog_units, now=retrieved_at)
    with Path(path).open("rb") as source:
        tee = _TeeReader(source, None)
        text = _text_stream(io.BufferedReader(tee, buffer_size=_READ_BLOCK))
        for chunk in checker.chunks(text, lambda: _numbered_rows(lambda: _text_stream(Path(path).open("rb")))):
            yield with_provenance(chunk, sha256=summary.sha256, retrieved_at=retrieved_at)
        while tee.readinto(bytearray(_READ_BLOCK)):
            pass
    if tee.digest.hexdigest() != summary.sha256:
        raise UserFileError("the file changed while it was being imported", filename=summary.filename)


class UserQuery(SourceQuery):
    """The analyst's files to import."""

    files: tuple[Path, ...] = Field(min_length=1)


class UserFetcher(Fetcher):
    """`aitrack import FILE`: an analyst's own long CSV, checked as strictly as any provider's file.

    `extract` reads each file once (hash, checks, copy into `spool_dir` when given) and returns file-backed payloads;
    `iter_chunks` turns one into observation frames a chunk at a time; `transform` stacks them (small files).
    """

    info: ClassVar[SourceInfo] = SourceInfo(
        id=SOURCE,
        producer="the analyst who imports the file (each row names its publication in `source`)",
        title="Analyst-supplied observations",
        homepage="docs/sources.md#curated-sources",
        licence="per row: the file's `licence` column, else unknown",
        citation="per row: the file's `source` and `source_url` columns",
        redistributable=False,  # an analyst's file may quote licensed material; never shipped
        cadence_days=36500,  # imported by hand: never stale by schedule
    )
    Query: ClassVar[type[SourceQuery]] = UserQuery

    def __init__(self, known_indicators: Iterable[str] = (), *, catalog_units: Mapping[str, str] | None = None,
                 spool_dir: Path | None = None) -> None:  # fmt: skip
        self.known_indicators = frozenset(known_indicators)
        self.catalog_units = dict(catalog_units or {})
        self.spool_dir = spool_dir

    def extract(self, query: SourceQuery, client: "httpx.Client | None" = None) -> list[RawPayload]:
        payloads = []
        for path in getattr(query, "files", ()):
            path = Path(path)
            retrieved = utcnow()
            summary, stored = check_user_file(path, known_indicators=self.known_indicators,
                                              catalog_units=self.catalog_units, spool_dir=self.spool_dir,
                                              now=retrieved)  # fmt: skip
            payloads.append(RawPayload(
                source=SOURCE,
                url=path.resolve().as_uri(),
                params={"file": str(path)},
                status=200,
                content=b"",
                retrieved_at=retrieved,
                media_type="text/csv",
                extra={"filename": path.name},
                path=stored,
                digest=summary.sha256,
                size=summary.size_bytes,
                summary=summary,
            ))  # fmt: skip
        return payloads

    def iter_chunks(self, payload: RawPayload, query: SourceQuery | None = None) -> Iterator[pl.DataFrame]:
        if payload.path is None or payload.summary is None:
            raise ValueError("iter_chunks needs a payload from UserFetcher.extract")
        since = getattr(query, "since", None)
        for chunk in iter_user_chunks(payload.path, payload.summary, retrieved_at=payload.retrieved_at,
                                      catalog_units=self.catalog_units):  # fmt: skip
            yield chunk if since is None else chunk.filter(pl.col("year") >= since)

    def imports(self, payloads: list[RawPayload]) -> list[UserImport]:
        """Every payload parsed in memory (small files); the first bad file stops the whole import."""
        return [
            parse_user_csv(p.read_bytes(), known_indicators=self.known_indicators,
                           filename=str(p.extra.get("filename", p.url)), retrieved_at=p.retrieved_at, url=p.url,
                           catalog_units=self.catalog_units)  # fmt: skip
            for p in payloads
        ]

    def transform(self, payloads: list[RawPayload], query: SourceQuery) -> pl.DataFrame:
        return stack_observations([chunk for p in payloads for chunk in self.iter_chunks(p, query)], since=query.since)
