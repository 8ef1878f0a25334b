"""NeurIPS accepted papers by author-affiliation region (prakashkagitha/neurips-us-vs-china) → papers per region-year, and US–China co-authored papers per year (bilateral, XUC).

The analysis maps affiliation strings to countries and countries to regions. Its region "China" is mainland China
plus Hong Kong, Macau and Taiwan; `fetchers/countries/neurips.csv` maps that region to CHN on purpose (the only
China the pair has), and every CHN reading says so in its `source_series`, so the superset is never silent.
A paper counts once for every region it involves.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import polars as pl

from fetchers.base import RawPayload
from contracts.pair import PAIR_CODE
from fetchers.curated.frame import Reading, country_code, observation_frame
from fetchers.errors import SchemaDriftError

SOURCE = "neurips"
PAPERS = "neurips_papers"
COAUTHORED = "neurips_us_china_coauthored"
# What the analysis (src/run_analysis.py of the source repository) puts in its region "China".
CHINA_REGION = "China"
CHINA_REGION_MEMBERS = "mainland China + Hong Kong + Macau + Taiwan"
COLLABORATION_CATEGORIES = frozenset({"US only", "China only", "US-China collaboration", "Other regions"})
US_CHINA = "US-China collaboration"


def _rows(content: bytes, columns: tuple[str, ...], what: str) -> list[dict[str, str]]:
    try:
        reader = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise SchemaDriftError(f"NeurIPS {what}: does not parse ({exc})") from exc
    if tuple(reader.fieldnames or ()) != columns:
        raise SchemaDriftError(f"NeurIPS {what}: expected columns {list(columns)}, got {reader.fieldnames}")
    return rows


def _year_and_count(row: dict[str, str], what: str) -> tuple[int, float]:
    try:
        year, count = int(row["year"]), float(row["paper_count"])
    except (TypeError, ValueError) as exc:
        raise SchemaDriftError(f"NeurIPS {what}: row {row} has no integer year and count") from exc
    if count < 0 or count != int(count):
        raise SchemaDriftError(f"NeurIPS {what}: paper_count {row['paper_count']!r} is not a count")
    return year, count


def region_readings(content: bytes) -> list[Reading]:
    """`year,region,paper_count,share` → papers per country-year; regions that are not one country are dropped."""
    rows = _rows(content, ("year", "region", "paper_count", "share"), "region counts")
    readings, seen = [], set()
    for row in rows:
        year, count = _year_and_count(row, "region counts")
        region = row["region"].strip()
        code = country_code(region, SOURCE)
        if code is None:
            continue
        if (code, year) in seen:
            raise SchemaDriftError(f"NeurIPS region counts: {code} {year} appears twice")
        seen.add((code, year))
        members = f" ({CHINA_REGION_MEMBERS})" if region == CHINA_REGION else ""
        readings.append(Reading(PAPERS, code, year, count, "count",
                                f"neurips_region_paper_counts:region={region}{members}"))
    return readings


def collaboration_readings(content: bytes) -> list[Reading]:
    """`year,category,paper_count,share` → the US–China co-authored papers of each year as one bilateral reading."""
    rows = _rows(content, ("year", "category", "paper_count", "share"), "collaboration")
    readings, seen = [], set()
    for row in rows:
        category = row["category"].strip()
        if category not in COLLABORATION_CATEGORIES:
            raise SchemaDriftError(f"NeurIPS collaboration: unknown category {category!r}")
        year, count = _year_and_count(row, "collaboration")
        if category != US_CHINA:
            continue
        if year in seen:
            raise SchemaDriftError(f"NeurIPS collaboration: {year} has two {US_CHINA!r} rows")
        seen.add(year)
        readings.append(Reading(COAUTHORED, PAIR_CODE, year, count, "count",
                                f"neurips_us_china_collaboration:{category} (China = {CHINA_REGION_MEMBERS})"))
    return readings


def parse_neurips_region_counts(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    if options:
        raise ValueError(f"curated.neurips_region_counts takes no options, got {sorted(options)}")
    return observation_frame(region_readings(payload.content), payload)


def parse_neurips_us_china_collaboration(payload: RawPayload, options: dict[str, Any]) -> pl.DataFrame:
    if options:
        raise ValueError(f"curated.neurips_us_china_collaboration takes no options, got {sorted(options)}")
    return observation_frame(collaboration_readings(payload.content), payload)
