"""V-Dem country-year file (vdem3.csv, or its column subset) → `liberal_democracy` (v2x_libdem) and `electoral_democracy` (v2x_polyarchy) per country."""

from __future__ import annotations

import io
from typing import Any

import polars as pl

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, country_code, observation_frame, parse_number
from fetchers.errors import SchemaDriftError

SOURCE = "vdem"
INDEX_COLUMNS = {"v2x_libdem": "liberal_democracy", "v2x_polyarchy": "electoral_democracy"}


def vdem_readings(content: bytes) -> list[Reading]:
    """Rows with V-Dem scores → both indices (0–1) per country-year; rows without scores are skipped.

    V-Dem's own `country_text_id` is used, not the merged World Bank `iso3c`: it is present on every
    scored row, and the World Bank-only rows of the merged file carry no scores.
    """
    try:
        frame = pl.read_csv(io.BytesIO(content), infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise SchemaDriftError(f"V-Dem file does not parse: {exc}") from exc
    need = {"country_text_id", "year", *INDEX_COLUMNS}
    if not need <= set(frame.columns):
        raise SchemaDriftError(f"V-Dem file lacks {sorted(need - set(frame.columns))}")
    readings = []
    for row in frame.iter_rows(named=True):
        scores = {column: parse_number(row[column]) for column in INDEX_COLUMNS}
        if all(parsed is None for parsed in scores.values()):
            continue
        code = country_code((row["country_text_id"] or "").strip(), SOURCE)
        if code is None:
            continue
        year = int(row["year"])
        for column, indicator in INDEX_COLUMNS.items():
            parsed = scores[column]
            if parsed is None:
                continue
            if not 0.0 <= parsed[0] <= 1.0:
                raise SchemaDriftError(f"V-Dem {code} {year}: {column} = {parsed[0]} is outside 0–1")
            readings.append(Reading(indicator, code, year, parsed[0], "score", column))
    return readings


def parse_vdem(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    if options:
        raise SchemaDriftError(f"curated.vdem takes no options, got {sorted(options)}")
    return observation_frame(vdem_readings(payload.content), payload)
