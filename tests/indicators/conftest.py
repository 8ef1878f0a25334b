"""Shared helpers for the indicator tests: real fixture CSVs → observation frames; a small catalog built in memory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from contracts.observations import validate_observations
from indicators.catalog import Catalog, load_catalog, parse_catalog

FIXTURES = Path(__file__).parent / "fixtures"
RETRIEVED = datetime(2026, 1, 1, tzinfo=timezone.utc)


def as_observations(rows: pl.DataFrame, catalog: Catalog, *, vintage: str = "fixture", source: str | None = None) -> pl.DataFrame:
    """indicator,country,year,value rows → a full observation frame (unit and source from the catalog).

    A `source` or `vintage` column already in `rows` is kept.
    """
    meta = pl.DataFrame(
        [
            {
                "indicator": e.id, "unit": e.unit,
                "source": source or e.sources[0].source, "source_series": e.sources[0].series,
            }
            for e in catalog if e.sources
        ]
    )
    if "source" in rows.columns:
        meta = meta.drop("source")
    frame = rows.join(meta, on="indicator", how="left").with_columns(
        pl.lit("measured").alias("value_kind"),
        pl.lit(RETRIEVED).alias("retrieved_at"),
        pl.lit("0" * 64).alias("snapshot_id"),
    )
    if "vintage" not in rows.columns:
        frame = frame.with_columns(pl.lit(vintage).alias("vintage"))
    return validate_observations(frame)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def libdem_observations(catalog: Catalog) -> pl.DataFrame:
    return as_observations(pl.read_csv(FIXTURES / "libdem_population_2019_2020.csv"), catalog)


@pytest.fixture(scope="session")
def pair_observations(catalog: Catalog) -> pl.DataFrame:
    return as_observations(pl.read_csv(FIXTURES / "pair_sample.csv"), catalog)


def tiny_catalog(members: dict[str, dict[str, float]], *, threshold: float = 0.5, min_indicators: int = 1,
                 directions: dict[str, str] | None = None) -> Catalog:
    """A catalog of count indicators `members[id] = {dimension: weight}`; every dimension must get one member."""
    directions = directions or {}
    entries: list[dict[str, Any]] = [
        {
            "id": indicator, "name": indicator, "unit": "count", "category": "research",
            "direction": directions.get(indicator, "higher_is_better"), "comparison": "pair",
            "forecast_scale": "log", "sources": [{"source": "user", "series": indicator}],
            "dimensions": weights, "cadence_days": 365,
        }
        for indicator, weights in members.items()
    ]
    dimensions = {
        name: {
            "description": name, "seed_citations": ["test"], "coverage_threshold": threshold,
            "min_indicators": min_indicators,
        }
        for name in ("values", "cohesion", "influence", "legitimacy")
    }
    return parse_catalog({"dimensions": dimensions, "indicators": entries})
