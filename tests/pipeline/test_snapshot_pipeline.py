"""The main job's stages on the real embedded snapshot: load twice adds nothing; build is idempotent; evidence loads."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pytest

from aitrack.jobs import build, ingest
from aitrack.jobs.catalog import current_catalog, sync_catalog
from contracts.kinds import HISTORY_KINDS
from db.read import Reader
from db.write import Writer


@dataclass
class Store:
    reader: Reader
    writer: Writer


@pytest.fixture
def loaded(engine):
    repo = Store(Reader(engine), Writer(engine))
    catalog = current_catalog(repo.reader)
    sync_catalog(repo.writer, catalog)
    first = ingest.load_snapshot(repo.writer, current_catalog(repo.reader))
    return repo, catalog, first


def test_snapshot_loads_every_source_and_a_second_load_adds_nothing(loaded):
    repo, _, first = loaded
    assert first and all(o.status == "ok" for o in first), [o for o in first if o.status != "ok"]
    assert sum(o.added for o in first) > 50_000
    n = repo.reader.table_counts()["observation"]
    second = ingest.load_snapshot(repo.writer, current_catalog(repo.reader))
    assert sum(o.added + o.revised for o in second) == 0
    assert sum(o.unchanged for o in second) == sum(o.added for o in first)
    assert repo.reader.table_counts()["observation"] == n


def test_snapshot_values_match_the_source_files(loaded):
    repo, _, _ = loaded
    latest = repo.reader.latest_observations(countries=["CHN", "USA"])

    def value(indicator, country, year):
        rows = latest.filter(
            (pl.col("indicator") == indicator) & (pl.col("country") == country) & (pl.col("year") == year)
        )
        return rows["value"].to_list()

    # Sample values stated in ../shared/data/*/SOURCES.md.
    assert value("ai_papers", "CHN", 2023) == [103493.0]
    assert value("ai_papers", "USA", 2023) == [50039.0]
    assert value("gerd_pct_gdp", "CHN", 2023) == [pytest.approx(2.57729)]
    assert value("stay_rate_5yr", "CHN", 2017) == [83.0]
    assert value("liberal_democracy", "USA", 2024) == [pytest.approx(0.748)]


def test_unfinished_years_are_provisional_and_kept_out_of_history(loaded):
    repo, _, _ = loaded
    everything = repo.reader.latest_observations(kinds=None, indicators=["ai_vc_investment", "notable_ai_models"])
    provisional = everything.filter(pl.col("value_kind") == "provisional")
    assert set(provisional["year"]) >= {2026}
    history = repo.reader.latest_observations(kinds=HISTORY_KINDS, indicators=["ai_vc_investment"])
    assert history["year"].max() < 2026


def test_build_is_idempotent_and_scores_stay_in_bounds(loaded):
    repo, catalog, _ = loaded
    first = build.build(repo.reader, repo.writer, catalog, n_draws=200)
    second = build.build(repo.reader, repo.writer, catalog, n_draws=200)
    assert first.derived is not None and first.derived.added > 0
    assert second.derived.added == 0 and second.derived.revised == 0
    scored = first.scores.filter(pl.col("status") == "ok")
    assert scored.height > 0
    assert scored["score"].is_between(0, 1).all()
    assert set(first.scores["dimension"]) == {"values", "cohesion", "influence", "legitimacy"}
    assert repo.reader.dimension_scores()[0]["build_id"].unique().to_list() == [second.build_id]


def test_evidence_loads_and_links_to_catalog_ids(engine):
    repo = Store(Reader(engine), Writer(engine))
    n = ingest.load_evidence(repo.writer)
    assert n >= 150
    papers = repo.reader.evidence(indicator="ai_papers", country="CHN")[0]
    assert 15199.0 in papers["value"].to_list()
    catalog = current_catalog(repo.reader)
    linked = set(repo.reader.evidence()[0]["indicator"]) - {"uncatalogued"}
    assert linked <= set(catalog.ids())
