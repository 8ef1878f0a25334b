"""Rows without an estimate say why: too little data, only a multi-year total, or no data here and which live source
fills it (the headline metrics of the data issue: each is filled or names its live source)."""

from __future__ import annotations

import pytest

from aitrack.present.crossovers import missing_data_text
from indicators.catalog import load_catalog

CATALOG = load_catalog()


@pytest.mark.parametrize(
    ("indicator", "source"),
    [("ai_papers_top1pct", "openalex"), ("ai_papers_top10pct", "openalex"), ("ai_papers_intl_coauthored", "openalex"),
     ("ai_author_inflow", "openalex"), ("ai_patent_families_ip5", "oecd"), ("researchers_fte", "oecd")],
)  # fmt: skip
def test_a_headline_metric_without_data_names_the_live_source_that_fills_it(indicator, source):
    text = missing_data_text(CATALOG.get(indicator), has_values=False)
    assert text == f"insufficient data: no data in this database; a live refresh of {source} fills it"


def test_a_period_total_says_it_is_never_forecast():
    # NCSES: AI patents granted, 2000-22 combined (the data issue's example of a total stored as one year).
    text = missing_data_text(CATALOG.get("ai_patents_granted"), has_values=False, period=(2000, 2022))
    assert text == "a 2000–2022 total, not an annual series: shown and cited, never forecast"


def test_too_few_points_and_curated_only_series_read_differently():
    assert missing_data_text(CATALOG.get("ai_bills_passed"), has_values=True) == "insufficient data"
    # NeurIPS counts: a curated file left out of the snapshot for its licence, and no live source.
    assert missing_data_text(CATALOG.get("neurips_papers"), has_values=False) == "insufficient data: no source here"
