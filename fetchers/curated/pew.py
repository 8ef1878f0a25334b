"""Pew Global Attitudes favourable views of the U.S. (fivethirtyeight TRUMPWORLD-us.csv, wide by country) → `favourability`, country USA, the `avg` column."""

from __future__ import annotations

import io
from typing import Any

import polars as pl

from fetchers.base import RawPayload
from fetchers.curated.frame import Reading, observation_frame, parse_number
from fetchers.errors import SchemaDriftError

SOURCE = "pew"
INDICATOR = "favourability"
SUBJECT = "USA"  # the country viewed; the respondents are the countries surveyed that year
# `avg` is a plain mean over that year's surveyed countries (2 to 37 of them); allow its rounding.
AVERAGE_TOLERANCE = 0.01


def favourability_readings(content: bytes) -> list[Reading]:
    """One reading per survey year: the mean % favourable across the countries surveyed that year.

    The panel of surveyed countries changes from year to year, so a change in the average mixes
    opinion change with panel change; the check below keeps `avg` honest to the file's own columns.
    """
    try:
        frame = pl.read_csv(io.BytesIO(content), infer_schema_length=0)
    except pl.exceptions.PolarsError as exc:
        raise SchemaDriftError(f"Pew file does not parse: {exc}") from exc
    if not {"year", "avg"} <= set(frame.columns):
        raise SchemaDriftError(f"Pew file lacks year/avg (columns: {frame.columns[:5]})")
    country_columns = [c for c in frame.columns if c not in ("year", "avg")]
    readings = []
    for row in frame.iter_rows(named=True):
        year = int(row["year"])
        average = parse_number(row["avg"])
        if average is None:
            continue
        surveyed = [p[0] for c in country_columns if (p := parse_number(row[c])) is not None]
        if not surveyed or abs(sum(surveyed) / len(surveyed) - average[0]) > AVERAGE_TOLERANCE:
            raise SchemaDriftError(f"Pew {year}: avg {average[0]} is not the mean of the surveyed countries")
        readings.append(Reading(INDICATOR, SUBJECT, year, average[0], "pct",
                                "TRUMPWORLD-us:avg"))
    return readings


def parse_pew_favourability(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    if options:
        raise SchemaDriftError(f"curated.pew_favourability takes no options, got {sorted(options)}")
    return observation_frame(favourability_readings(payload.content), payload)
