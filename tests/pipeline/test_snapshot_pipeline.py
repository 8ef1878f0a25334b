"""The main job's stages on the real embedded snapshot: load twice adds nothing; build is idempotent; evidence loads."""

from __future__ import annotations

import polars as pl
import pytest

from aitrack import pipeline
from contracts.kinds import HISTORY_KINDS
from db.repository import Repository


@pytest.fixture
def loaded(engine):
    repo = Repository(engine)
    catalog = pipeline.current_catalog(repo)
    pipeline.sync_catalog(repo, catalog)
    first = pipeline.load_snapshot(repo)
    return repo, catalog, first


def test_snapshot_loads_every_source_and_a_second_load_adds_nothing(loaded):
    repo, _, first = loaded
    assert first and all(o.status == "ok" for o in first), [o for o in first if o.status != "ok"]
    assert sum(o.added for o in first) > 50_000
    n = repo.table_counts()["observation"]
    second = pipeline.load_snapshot(repo)
    assert sum(o.added + o.revised for o in second) == 0
    assert sum(o.unchanged for o in second) == sum(o.added for o in first)
    assert repo.table_counts()["observation"] == n


def test_snapshot_values_match_the_source_files(loaded):
    repo, _, _ = loaded
    latest = repo.latest_observations(countries=["CHN", "USA"])

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
    everything = repo.latest_observations(kinds=None, indicators=["ai_vc_investment", "notable_ai_models"])
    provisional = everything.filter(pl.col("value_kind") == "provisional")
    assert set(provisional["year"]) >= {2026}
    history = repo.latest_observations(kinds=HISTORY_KINDS, indicators=["ai_vc_investment"])
    assert history["year"].max() < 2026


def test_build_is_idempotent_and_scores_stay_in_bounds(loaded):
    repo, catalog, _ = loaded
    first = pipeline.build(repo, catalog, n_draws=200)
    second = pipeline.build(repo, catalog, n_draws=200)
    assert first.derived is not None and first.derived.added > 0
    assert second.derived.added == 0 and second.derived.revised == 0
    scored = first.scores.filter(pl.col("status") == "ok")
    assert scored.height > 0
    assert scored["score"].is_between(0, 1).all()
    assert set(first.scores["dimension"]) == {"values", "cohesion", "influence", "legitimacy"}
    assert repo.dimensions_latest()["build_id"].unique().to_list() == [second.build_id]


def test_evidence_loads_and_links_to_catalog_ids(engine):
    repo = Repository(engine)
    n = pipeline.load_evidence(repo)
    assert n >= 150
    papers = repo.evidence(indicator="ai_papers", country="CHN")
    assert 15199.0 in papers["value"].to_list()
    catalog = pipeline.current_catalog(repo)
    linked = set(repo.evidence()["indicator"]) - {"uncatalogued"}
    assert linked <= set(catalog.ids())
