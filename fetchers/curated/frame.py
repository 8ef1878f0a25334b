"""Parsed readings (indicator, country, year, value …) plus a payload's provenance → an observation frame; provider labels → ISO3."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import polars as pl

from contracts.observations import OBSERVATION_SCHEMA, validate_observations
from fetchers import countries
from fetchers.base import RawPayload
from fetchers.errors import SchemaDriftError

_FOOTNOTE = re.compile(r"<sup>.*?</sup>", re.IGNORECASE)


@dataclass(frozen=True)
class Reading:
    """One value as a provider's file states it, before provenance is attached."""

    indicator: str
    country: str
    year: int
    value: float
    unit: str
    source_series: str
    value_kind: str = "measured"
    year_start: int | None = None  # a multi-year total's first year; None for an annual value


def clean_label(label: str) -> str:
    """Strip footnote markers (`China<sup>a</sup>`) and stray spaces that provider tables carry."""
    return " ".join(_FOOTNOTE.sub("", label).split())


def country_code(label: str, source: str) -> str | None:
    """ISO3 for a provider label; None for a label the mapping files list as "not a country".

    A label that neither resolves nor is listed raises SchemaDriftError: a new region or a renamed
    country must be looked at once and written into `fetchers/countries/<source>.csv`, not dropped silently.
    """
    cleaned = clean_label(label)
    code = countries.to_iso3(cleaned, source)
    if code is not None:
        return code
    if countries.is_listed(cleaned, source):
        return None
    raise SchemaDriftError(
        f"{source}: country label {cleaned!r} is not mapped; add it to fetchers/countries/{source}.csv "
        "(empty iso3 to drop it)"
    )


def vintage_of(payload: RawPayload) -> str:
    """The provider's release date when the manifest knows it, else the retrieval date (DESIGN §3)."""
    if payload.published:
        return str(payload.published)[:10]
    return payload.retrieved_at.date().isoformat()


def observation_frame(readings: Iterable[Reading], payload: RawPayload) -> pl.DataFrame:
    """Attach the payload's provenance (source, retrieved_at, vintage, sha256) and validate the contract."""
    rows = [
        {
            "indicator": r.indicator,
            "country": r.country,
            "year": r.year,
            "year_start": r.year if r.year_start is None else r.year_start,
            "value": float(r.value),
            "unit": r.unit,
            "value_kind": r.value_kind,
            "source_series": r.source_series,
        }
        for r in readings
    ]
    base = pl.DataFrame(rows, schema={k: OBSERVATION_SCHEMA[k] for k in (
        "indicator", "country", "year", "year_start", "value", "unit", "value_kind", "source_series")})
    frame = base.with_columns(
        pl.lit(payload.source, dtype=pl.String()).alias("source"),
        pl.lit(payload.retrieved_at, dtype=pl.Datetime("us", "UTC")).alias("retrieved_at"),
        pl.lit(vintage_of(payload), dtype=pl.String()).alias("vintage"),
        pl.lit(payload.sha256, dtype=pl.String()).alias("snapshot_id"),
    ).select(list(OBSERVATION_SCHEMA))
    return validate_observations(frame)


def parse_number(text: str | None) -> tuple[float, str] | None:
    """A provider cell → (value, value_kind), or None when the cell is empty, NA or suppressed.

    NCSES marks cells with a trailing `i` (imputed: an estimate) or `r` (revised: still measured) and
    `D` for values suppressed to protect respondents; anything else that is not a number is drift.
    """
    if text is None:
        return None
    cell = str(text).strip().replace(",", "")
    if cell in {"", "NA", "N/A", "D", "-", "—", "–", ".."}:
        return None
    kind = "measured"
    if cell[-1] in "ir" and len(cell) > 1:
        kind = "estimate" if cell[-1] == "i" else "measured"
        cell = cell[:-1].strip()
    try:
        value = float(cell)
    except ValueError as exc:
        raise SchemaDriftError(f"cell {text!r} is not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise SchemaDriftError(f"cell {text!r} is not a finite number")
    return value, kind
