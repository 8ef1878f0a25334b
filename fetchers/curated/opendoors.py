"""IIE Open Doors international students in the U.S. (academic.csv totals, origin extract) → `chinese_students_us` for CHN and the all-origins total as WLD."""

from __future__ import annotations

import io
import re
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, country_code, observation_frame, parse_number
from fetchers.errors import SchemaDriftError

SOURCE = "opendoors"
INDICATOR = "chinese_students_us"
_ACADEMIC_YEAR = re.compile(r"^(\d{4})/(\d{2})$")


class OriginOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    origins: tuple[str, ...] = ("CHN",)  # ISO3 codes of the places of origin to emit


def academic_year_start(label: str) -> int:
    """"2019/20" → 2019. Open Doors counts the students of an academic year that opens in the autumn
    of its first calendar year, so the year is that first year (as UN sessions use their opening year)."""
    match = _ACADEMIC_YEAR.match(label.strip())
    if match is None:
        raise SchemaDriftError(f"Open Doors academic year {label!r} is not like 2019/20")
    start, end = int(match.group(1)), int(match.group(2))
    if (start + 1) % 100 != end:
        raise SchemaDriftError(f"Open Doors academic year {label!r} does not span two consecutive years")
    return start


def _read(content: bytes, need: set[str]) -> pl.DataFrame:
    try:
        frame = pl.read_csv(io.BytesIO(content), infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise SchemaDriftError(f"Open Doors file does not parse: {exc}") from exc
    if not need <= set(frame.columns):
        raise SchemaDriftError(f"Open Doors file lacks {sorted(need - set(frame.columns))}")
    return frame


def total_readings(content: bytes) -> list[Reading]:
    """academic.csv: `students` (international students in the U.S., all origins) → WLD, one per academic year."""
    frame = _read(content, {"year", "students"})
    readings = []
    for row in frame.iter_rows(named=True):
        parsed = parse_number(row["students"])
        if parsed is None:
            continue
        readings.append(Reading(INDICATOR, "WLD", academic_year_start(row["year"]), parsed[0], "count",
                                f"academic.csv:students:{row['year'].strip()}"))
    return readings


def origin_readings(content: bytes, options: OriginOptions) -> list[Reading]:
    """origin.csv rows (year, origin, academic_type, students) → per origin and year, the sum over academic types."""
    frame = _read(content, {"year", "origin", "academic_type", "students"})
    sums: dict[tuple[str, str], float] = {}
    types: dict[tuple[str, str], set[str]] = {}
    for row in frame.iter_rows(named=True):
        code = country_code(row["origin"], SOURCE)
        if code is None or code not in options.origins:
            continue
        parsed = parse_number(row["students"])
        if parsed is None:
            continue
        key = (code, row["year"].strip())
        kind = row["academic_type"].strip()
        if kind in types.setdefault(key, set()):
            raise SchemaDriftError(f"Open Doors {key}: academic type {kind!r} appears twice")
        types[key].add(kind)
        sums[key] = sums.get(key, 0.0) + parsed[0]
    return [
        Reading(INDICATOR, code, academic_year_start(label), total, "count",
                f"origin.csv:{code}:{label}:sum of {'+'.join(sorted(types[(code, label)]))}")
        for (code, label), total in sorted(sums.items())
    ]


def parse_opendoors_totals(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    if options:
        raise SchemaDriftError(f"curated.opendoors_totals takes no options, got {sorted(options)}")
    return observation_frame(total_readings(payload.content), payload)


def parse_opendoors_origin(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(origin_readings(payload.content, OriginOptions.model_validate(options)), payload)
