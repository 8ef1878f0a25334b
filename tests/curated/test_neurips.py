"""NeurIPS region counts and US–China collaboration on the real files of ../shared/data/talent_neurips (not shipped: no licence): SOURCES.md values, the China-region code, drift."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from contracts.pair import PAIR_CODE
from fetchers.curated import neurips
from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.errors import SchemaDriftError

from .conftest import shared_payload, value, with_content

REGIONS = ("talent_neurips", "neurips_region_paper_counts.csv")
COLLAB = ("talent_neurips", "neurips_us_china_collaboration.csv")
# (country, year, papers) as SOURCES.md states them
STATED_REGIONS = [("USA", 2021, 1840), ("CHN", 2021, 605), ("USA", 2024, 2306), ("CHN", 2024, 1710),
                  ("USA", 2025, 2768), ("CHN", 2025, 2561)]
STATED_COLLAB = [(2021, 336), (2025, 1006)]


@pytest.fixture(scope="module")
def regions() -> pl.DataFrame:
    return CURATED_PARSERS["curated.neurips_region_counts"](shared_payload("neurips", *REGIONS), {})


@pytest.fixture(scope="module")
def collaboration() -> pl.DataFrame:
    return CURATED_PARSERS["curated.neurips_us_china_collaboration"](shared_payload("neurips", *COLLAB), {})


@pytest.mark.parametrize("country,year,expected", STATED_REGIONS)
def test_region_counts_stated_in_sources_md(regions, country, year, expected):
    assert value(regions, "neurips_papers", country, year) == expected


@pytest.mark.parametrize("year,expected", STATED_COLLAB)
def test_us_china_collaboration_stated_in_sources_md(collaboration, year, expected):
    assert value(collaboration, "neurips_us_china_coauthored", PAIR_CODE, year) == expected


def test_the_china_region_is_labelled_chn_and_says_what_it_contains(regions):
    chn = regions.filter(pl.col("country") == "CHN")
    assert chn.height == 5 and chn["source_series"].str.contains("Hong Kong").all()
    assert chn["source_series"].str.contains("Macau").all() and chn["source_series"].str.contains("Taiwan").all()
    assert not regions.filter(pl.col("country") != "CHN")["source_series"].str.contains("Taiwan").any()
    # Regions of several countries are dropped, never given a code; Taiwan/Hong Kong never appear on their own.
    assert set(regions["country"]) == {"CHN", "USA", "CAN"}


def test_collaboration_categories_add_up_to_the_papers_of_the_year():
    rows = list(csv.DictReader(io.StringIO(shared_payload("neurips", *COLLAB).content.decode())))
    totals = {}
    for row in rows:
        totals[row["year"]] = totals.get(row["year"], 0) + int(row["paper_count"])
    assert totals["2021"] == 2630 and totals["2025"] == 5288  # SOURCES.md: "of 2630", "of 5288"


def test_an_unknown_region_or_category_fails_loudly():
    payload = shared_payload("neurips", *REGIONS)
    renamed = with_content(payload, payload.content.replace(b"Latin America", b"Atlantis"))
    with pytest.raises(SchemaDriftError, match="Atlantis"):
        neurips.parse_neurips_region_counts(renamed, {})
    payload = shared_payload("neurips", *COLLAB)
    renamed = with_content(payload, payload.content.replace(b"China only", b"China mostly"))
    with pytest.raises(SchemaDriftError, match="China mostly"):
        neurips.parse_neurips_us_china_collaboration(renamed, {})


def test_a_repeated_region_year_fails():
    payload = shared_payload("neurips", *REGIONS)
    lines = payload.content.decode().splitlines(keepends=True)
    doubled = with_content(payload, "".join(lines + [lines[3]]).encode())
    with pytest.raises(SchemaDriftError, match="twice"):
        neurips.parse_neurips_region_counts(doubled, {})
