"""NCSES SEI citation tables (share of a country's papers among the world's top 1/5/10% most cited) → observations: the year-less flattened time series (10022, 10037, 10053) and the wide table with three measures per year (1853)."""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

from fetchers.base import RawPayload
from fetchers.curated import ncses
from fetchers.curated.frame import Reading, country_code, observation_frame
from fetchers.errors import SchemaDriftError

SOURCE = ncses.SOURCE
LONG_HEADER = ["table_id", "row_id", "time_period", "value"]
# Marks the readings whose year was re-attached from the row order rather than read from the file.
INFERRED_YEAR_TAG = "year-inferred"


class BlockOptions(BaseModel):
    """A flattened time series whose `time_period` column holds the region path and whose year was lost.

    The table title states the years (e.g. "2003–20"); each entity then owns exactly one block of
    `last_year - first_year + 1` consecutive row ids, and the k-th row of a block is year `first_year + k`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: str
    unit: str
    table: str  # SEI table number (e.g. SPBS-69), part of source_series
    first_year: int
    last_year: int
    countries: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _years_ordered(self) -> "BlockOptions":
        if self.last_year < self.first_year:
            raise ValueError("last_year must not be before first_year")
        return self

    @property
    def block_length(self) -> int:
        return self.last_year - self.first_year + 1


class MeasuresOptions(BaseModel):
    """A wide table with several measures per year (`field_1996_top_1_`, `field_1996_top_5_` …): one indicator each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table: str
    unit: str
    measures: dict[str, str] = Field(min_length=1)  # column suffix (e.g. `top_1_`) → catalog indicator
    countries: tuple[str, ...] | None = None


def _row_number(row_id: str) -> int:
    if not (row_id.startswith("r") and row_id[1:].isdigit()):
        raise SchemaDriftError(f"NCSES row id {row_id!r} is not r<number>")
    return int(row_id[1:])


def block_readings(content: bytes, options: BlockOptions) -> list[Reading]:
    """Re-attach years to a year-less flattened series by the block rule, checking the rule holds for every entity.

    The rule is an inference (the file itself has no year), so anything that breaks it fails loudly: a block
    of another length, a gap in a block's row ids, or a block that does not start on a block boundary
    (which would shift every year of that entity).
    """
    header, rows = ncses._read_rows(content)
    if header != LONG_HEADER:
        raise SchemaDriftError(f"NCSES {options.table}: expected columns {LONG_HEADER}, got {header}")
    blocks: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for row in rows:
        blocks.setdefault(row["time_period"], []).append((_row_number(row["row_id"]), row))
    n = options.block_length
    readings: list[Reading] = []
    placed: dict[tuple[str, int], str] = {}
    for path, members in blocks.items():
        members.sort(key=lambda item: item[0])
        numbers = [number for number, _ in members]
        if len(numbers) != n or numbers != list(range(numbers[0], numbers[0] + n)) or (numbers[0] - 1) % n:
            raise SchemaDriftError(
                f"NCSES {options.table}: {path!r} has row ids r{numbers[0]}..r{numbers[-1]} ({len(numbers)} rows); "
                f"the year rule needs one aligned block of {n} consecutive rows ({options.first_year}-{options.last_year})"
            )
        label = ncses.entity_label(path.split(ncses.PATH_SEPARATOR)[-1])
        code = country_code(label, SOURCE)
        if code is None or (options.countries is not None and code not in options.countries):
            continue
        for offset, (_, row) in enumerate(members):
            parsed = ncses.ncses_cell(row["value"])
            if parsed is None:
                continue
            year = options.first_year + offset
            key = (code, year)
            if key in placed:
                raise SchemaDriftError(
                    f"NCSES {options.table}: {code} {year} appears in rows {placed[key]} and {row['row_id']}"
                )
            placed[key] = row["row_id"]
            value, kind = parsed
            readings.append(Reading(options.indicator, code, year, value, options.unit,
                                    f"{options.table}:{row['row_id']}:{INFERRED_YEAR_TAG}", kind))
    return readings


def measure_readings(content: bytes, options: MeasuresOptions) -> list[Reading]:
    """Every requested measure of a wide NCSES table, through the same row rules as `curated.ncses_wide`."""
    readings: list[Reading] = []
    for measure, indicator in options.measures.items():
        wide = ncses.WideOptions(indicator=indicator, unit=options.unit, table=options.table,
                                 measure=measure, countries=options.countries)
        readings.extend(ncses.wide_readings(content, wide))
    return readings


def parse_ncses_year_blocks(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(block_readings(payload.content, BlockOptions.model_validate(options)), payload)


def parse_ncses_wide_measures(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    return observation_frame(measure_readings(payload.content, MeasuresOptions.model_validate(options)), payload)
