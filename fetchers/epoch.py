"""Epoch AI notable-models CSV in, models per country and publication year (observation frame) out."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import ClassVar

import polars as pl

from fetchers.base import (
    CountryResolver,
    Fetcher,
    RawPayload,
    SourceInfo,
    SourceQuery,
    concat_observations,
    get_payload,
    observations_from_records,
)
from fetchers.errors import SchemaDriftError

SOURCE_ID = "epoch"
# Epoch renamed the column between releases (2025-04 copy vs 2026 copy); both mean the organisations' countries.
COUNTRY_COLUMNS = ("Country (from Organization)", "Country (of organization)")
DATE_COLUMN = "Publication date"
MODEL_COLUMN = "Model"


class EpochQuery(SourceQuery):
    since: int | None = None


def parse_models_csv(payload: RawPayload, options: dict) -> pl.DataFrame:
    """One row per model → count of models per (country, publication year).

    A model with several organisation countries counts once for each distinct country; labels such as "Multinational"
    are dropped by the aggregates list. options: `indicator` (default notable_ai_models), `unit` (default count).
    """
    try:
        reader = csv.DictReader(io.StringIO(payload.content.decode("utf-8-sig"), newline=""))
        fields = reader.fieldnames or []
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SchemaDriftError(f"epoch: models CSV does not parse ({exc})") from exc
    country_column = next((c for c in COUNTRY_COLUMNS if c in fields), None)
    if country_column is None:
        raise SchemaDriftError(f"epoch: none of {COUNTRY_COLUMNS} in header {fields[:8]}…")
    if DATE_COLUMN not in fields:
        raise SchemaDriftError(f"epoch: '{DATE_COLUMN}' missing from header")
    resolve = CountryResolver(SOURCE_ID)
    counts: Counter[tuple[str, int]] = Counter()
    for number, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise SchemaDriftError(f"epoch: line {number} does not have the header's {len(fields)} cells")
        date = row[DATE_COLUMN].strip()
        if not date:
            continue  # a model without a publication date cannot be placed in a year
        match = re.match(r"(\d{4})(-\d{2}(-\d{2})?)?$", date)
        if not match:
            raise SchemaDriftError(f"epoch: line {number} publication date {date!r}")
        year = int(match.group(1))
        countries = {resolve(label) for label in row[country_column].split(",") if label.strip()}
        for country in countries - {None}:
            counts[(country, year)] += 1
    resolve.report("notable models")
    indicator = options.get("indicator", "notable_ai_models")
    unit = options.get("unit", "count")
    records = [
        {"indicator": indicator, "country": country, "year": year, "value": n, "unit": unit,
         "source_series": f"notable_ai_models:{country_column}"}
        for (country, year), n in sorted(counts.items())
    ]
    return observations_from_records(records, payload, source=SOURCE_ID, vintage=options.get("published"))


class EpochFetcher(Fetcher):
    info = SourceInfo(
        id=SOURCE_ID,
        producer="Epoch AI",
        title="Notable AI Models",
        homepage="https://epoch.ai/data/notable-ai-models",
        licence="CC BY 4.0",
        citation="Epoch AI, 'Data on Notable AI Models' (epoch.ai)",
        redistributable=True,
        cadence_days=30,
    )
    Query = EpochQuery
    default_base_url: ClassVar[str] = "https://epoch.ai"

    def extract(self, query: EpochQuery, client) -> list[RawPayload]:
        return [get_payload(client, SOURCE_ID, "/data/notable_ai_models.csv", extra={"file": "notable_ai_models.csv"})]

    def transform(self, payloads: list[RawPayload], query: EpochQuery) -> pl.DataFrame:
        frames = [parse_models_csv(p, {}) for p in payloads]
        return concat_observations(frames, source=SOURCE_ID, what="notable AI models", since=query.since)
