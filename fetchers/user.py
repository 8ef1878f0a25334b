"""An analyst's long CSV (indicator,country,year,value,unit,source,source_url,value_kind[,licence,notes]) → a checked import: all rows as observations, or a UserFileError naming the first bad row."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Iterable, NamedTuple

import polars as pl
from pydantic import Field

from contracts.kinds import VALUE_KINDS
from contracts.observations import OBSERVATION_SCHEMA, utcnow, validate_observations
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
_INDICATOR_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_YEAR = re.compile(r"^-?\d+$")
# Annual series of this project live between the first industrial statistics and the forecast horizon;
# a year outside is a typo (20200, 202) rather than data.
YEAR_RANGE = (1800, 2200)
PROVENANCE_SCHEMA = {
    "indicator": pl.String(),
    "country": pl.String(),
    "year": pl.Int64(),
    "source_name": pl.String(),
    "source_url": pl.String(),
    "licence": pl.String(),
    "notes": pl.String(),
}


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
class UserImport:
    """A fully checked file: every data row as an observation, its citation beside it."""

    filename: str
    sha256: str
    payload: RawPayload  # the file's bytes as a raw payload, to be stored beside the observations
    observations: pl.DataFrame  # the observation contract; source = "user"
    provenance: pl.DataFrame  # per observation: the file's own source name, URL, licence, notes
    new_indicators: tuple[NewIndicator, ...]
    citation: str  # every distinct "source <source_url>" of the file, "; "-joined
    licence: str | None  # every distinct licence the file states, "; "-joined; None when it states none
    forecast_options: dict[str, dict] = None  # type: ignore[assignment]  # indicator → {scale, bounds} it states


def _text(cell: str | None) -> str:
    return (cell or "").strip()


def _forecast_option(options: dict[str, dict], indicator: str, row: dict, value: float, fail) -> None:
    """Read the row's optional scale/lower/upper; they must agree across an indicator's rows and hold its values."""
    scale = _text(row.get("scale")) or None
    if scale is not None and scale not in SCALES:
        raise fail(f"scale {scale!r} is not one of {', '.join(SCALES)}", "scale")
    bounds = []
    for column in ("lower", "upper"):
        text = _text(row.get(column))
        try:
            bounds.append(float(text) if text else None)
        except ValueError:
            raise fail(f"{column} {text!r} is not a number", column) from None
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


def parse_user_csv(content: bytes, *, known_indicators: set[str] | frozenset[str], filename: str,
                   retrieved_at: datetime, url: str | None = None) -> UserImport:
    """Check every row; return them all or raise UserFileError for the first problem (never a partial import).

    source_series is the file's `source` column (the publisher the analyst cites), so the same indicator
    imported from two publications stays two series; `source_url`, `licence` and `notes` go to `provenance`.
    """
    if retrieved_at.tzinfo is None:
        raise ValueError("retrieved_at must be timezone-aware (UTC)")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", filename=filename) from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey=_EXTRA_FIELDS)
    header = [(_text(c)) for c in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise UserFileError(f"missing column(s): {', '.join(missing)}", filename=filename, line=1,
                            column=missing[0])
    unknown = [c for c in header if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise UserFileError(
            f"unknown column(s): {', '.join(repr(c) for c in unknown)}; allowed: "
            f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}", filename=filename, line=1, column=unknown[0])
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise UserFileError(f"column(s) repeated: {', '.join(repeated)}", filename=filename, line=1)

    observations: list[dict] = []
    provenance: list[dict] = []
    units: dict[str, tuple[str, int]] = {}
    keys: dict[tuple[str, str, int], int] = {}
    options: dict[str, dict] = {}
    for number, row in enumerate(reader, start=1):
        def fail(reason: str, column: str | None = None) -> UserFileError:
            return UserFileError(reason, filename=filename, row=number, line=reader.line_num, column=column)

        extra_fields = row.get(_EXTRA_FIELDS)
        if extra_fields:
            raise fail(f"{len(header) + len(extra_fields)} fields, the header has {len(header)}")
        if any(row[c] is None for c in header):
            raise fail(f"fewer fields than the header's {len(header)}")
        indicator = _text(row["indicator"])
        if not _INDICATOR_ID.match(indicator):
            raise fail(f"indicator {indicator!r} is not an id (lower case letters, digits, _)", "indicator")
        country = _text(row["country"]).upper()
        if not is_valid_code(country) or len(country) != 3:
            raise fail(f"country {row['country']!r} is not an ISO 3166 alpha-3 code or a kept aggregate", "country")
        year_text = _text(row["year"])
        if not _YEAR.match(year_text) or not YEAR_RANGE[0] <= int(year_text) <= YEAR_RANGE[1]:
            raise fail(f"year {row['year']!r} is not a whole year in {YEAR_RANGE[0]}–{YEAR_RANGE[1]}", "year")
        year = int(year_text)
        try:
            value = float(_text(row["value"]))
        except ValueError:
            raise fail(f"value {row['value']!r} is not a number", "value") from None
        if not math.isfinite(value):
            raise fail(f"value {row['value']!r} is not a finite number", "value")
        unit = _text(row["unit"])
        if not unit:
            raise fail("unit is empty", "unit")
        kind = _text(row["value_kind"])
        if kind not in VALUE_KINDS:
            raise fail(f"value_kind {row['value_kind']!r} is not one of {', '.join(VALUE_KINDS)}", "value_kind")
        source_name, source_url = _text(row["source"]), _text(row["source_url"])
        if not source_name:
            raise fail("source is empty: name the publication the figure comes from", "source")
        if not source_url:
            raise fail("source_url is empty: give where the figure can be checked", "source_url")
        if indicator in units and units[indicator][0] != unit:
            raise fail(f"unit {unit!r} differs from {units[indicator][0]!r} given to {indicator} in row "
                       f"{units[indicator][1]}", "unit")
        units.setdefault(indicator, (unit, number))
        _forecast_option(options, indicator, row, value, fail)
        key = (indicator, country, year)
        if key in keys:
            raise fail(f"{indicator} {country} {year} already given in row {keys[key]}")
        keys[key] = number
        observations.append({"indicator": indicator, "country": country, "year": year, "value": value,
                             "unit": unit, "value_kind": kind, "source_series": source_name})
        provenance.append({"indicator": indicator, "country": country, "year": year, "source_name": source_name,
                           "source_url": source_url, "licence": _text(row.get("licence")) or None,
                           "notes": _text(row.get("notes")) or None})
    if not observations:
        raise UserFileError("no data rows", filename=filename)

    sha256 = hashlib.sha256(content).hexdigest()
    when = retrieved_at.astimezone(timezone.utc)
    frame = pl.DataFrame(observations, schema={k: OBSERVATION_SCHEMA[k] for k in observations[0]}).with_columns(
        pl.lit(SOURCE).alias("source"),
        pl.lit(when, dtype=pl.Datetime("us", "UTC")).alias("retrieved_at"),
        pl.lit(when.date().isoformat()).alias("vintage"),
        pl.lit(sha256).alias("snapshot_id"),
    )
    new = tuple(NewIndicator(i, u) for i, (u, _) in sorted(units.items()) if i not in known_indicators)
    citations = dict.fromkeys(f"{p['source_name']} <{p['source_url']}>" for p in provenance)
    licences = dict.fromkeys(p["licence"] for p in provenance if p["licence"])
    payload = RawPayload(source=SOURCE, url=url or filename, params={"file": filename}, status=200, content=content,
                         retrieved_at=when, media_type="text/csv", extra={"filename": filename})
    return UserImport(
        filename=filename,
        sha256=sha256,
        payload=payload,
        observations=validate_observations(frame),
        provenance=pl.DataFrame(provenance, schema=PROVENANCE_SCHEMA),
        new_indicators=new,
        citation="; ".join(citations),
        licence="; ".join(licences) or None,
        forecast_options={i: o for i, o in options.items() if o.get("scale") or o.get("bounds") != (None, None)},
    )


class UserQuery(SourceQuery):
    """The analyst's files to import."""

    files: tuple[Path, ...] = Field(min_length=1)


class UserFetcher(Fetcher):
    """`aitrack import FILE`: an analyst's own long CSV, checked as strictly as any provider's file."""

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

    def __init__(self, known_indicators: Iterable[str] = ()) -> None:
        self.known_indicators = frozenset(known_indicators)

    def extract(self, query: SourceQuery, client: "httpx.Client | None" = None) -> list[RawPayload]:
        payloads = []
        for path in getattr(query, "files", ()):
            path = Path(path)
            payloads.append(RawPayload(
                source=SOURCE,
                url=path.resolve().as_uri(),
                params={"file": str(path)},
                status=200,
                content=path.read_bytes(),
                retrieved_at=utcnow(),
                media_type="text/csv",
                extra={"filename": path.name},
            ))
        return payloads

    def imports(self, payloads: list[RawPayload]) -> list[UserImport]:
        """Every payload parsed; the first bad file stops the whole import."""
        return [
            parse_user_csv(p.content, known_indicators=self.known_indicators,
                           filename=str(p.extra.get("filename", p.url)), retrieved_at=p.retrieved_at, url=p.url)
            for p in payloads
        ]

    def transform(self, payloads: list[RawPayload], query: SourceQuery) -> pl.DataFrame:
        return stack_observations([i.observations for i in self.imports(payloads)], since=query.since)
