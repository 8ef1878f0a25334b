"""The influence dimension on the embedded snapshot: which members have data, that some years reach the coverage rule, and that the weights are the documented ones."""

from __future__ import annotations

import polars as pl
import pytest

from aitrack.jobs.build import scoring_observations
from aitrack.jobs.snapshot import prepare_snapshot_database
from db.session import make_engine
from indicators.catalog import load_catalog
from indicators.composites import pair_shares

# The influence weights chosen from seed 004 (docs/methodology.md, "Influence"); a change here is a method change.
INFLUENCE_WEIGHTS = {
    "ai_papers_intl_coauthored": 1.0, "gdp_usd": 1.0, "gdp_ppp_usd": 0.5, "hightech_exports": 1.0,
    "ip_receipts": 1.0, "kti_exports": 0.5, "kti_value_added": 0.5,
}


@pytest.fixture(scope="module")
def snapshot_scores(tmp_path_factory):
    """The snapshot through the production path: loaded, built and read back from a fresh SQLite database."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('influence') / 'aitrack.db'}")
    try:
        prepared = prepare_snapshot_database(engine, n_draws=200, seed=0)
        observations = prepared.reader.latest_observations(kinds=None)
        shares = pair_shares(scoring_observations(prepared.reader), prepared.catalog)
        scores, _ = prepared.reader.dimension_scores()
    finally:
        engine.dispose()
    return observations, shares, scores


def test_influence_weights_and_concentration_are_the_documented_ones():
    catalog = load_catalog()
    assert catalog.dimension_weights("influence") == INFLUENCE_WEIGHTS
    spec = catalog.dimensions["influence"]
    assert spec.coverage_threshold == 0.5 and spec.dirichlet_concentration == 4 * (len(INFLUENCE_WEIGHTS) - 1)


def test_the_snapshot_has_pair_data_for_high_tech_exports_and_ip_receipts(snapshot_scores):
    _, shares, _ = snapshot_scores
    for indicator, first, last in (("hightech_exports", 2007, 2020), ("ip_receipts", 1982, 2020)):
        years = shares.filter(pl.col("indicator") == indicator)["year"]
        assert (years.min(), years.max()) == (first, last), indicator


def test_influence_has_years_with_at_least_half_its_weight_present(snapshot_scores):
    _, _, scores = snapshot_scores
    influence = scores.filter(pl.col("dimension") == "influence")
    scored = influence.filter(pl.col("status") == "ok")
    assert scored.height >= 10
    assert (scored["weight_present"] >= 0.5 - 1e-12).all() and (scored["n_present"] >= 2).all()
    assert set(range(2007, 2021)) <= set(scored["year"])  # every year with high-tech exports and IP receipts
    assert scored["score"].is_between(0, 1).all()
    # Below the threshold there is no score, never an imputed one.
    short = influence.filter(pl.col("weight_present") < 0.5)
    assert short.height > 0 and set(short["status"]) == {"insufficient_data"} and short["score"].is_null().all()


def test_china_only_and_bilateral_series_never_enter_a_pair_score(snapshot_scores):
    observations, shares, _ = snapshot_scores
    catalog = load_catalog()
    one_sided = {e.id for e in catalog if e.comparison != "pair"}
    assert not one_sided & set(shares["indicator"])
    # The period totals are in the snapshot with their periods, and carry no dimension weight.
    periods = observations.filter(pl.col("year_start") < pl.col("year"))
    assert set(periods["indicator"]) == {"ai_patents_granted", "ai_papers_us_china_coauthored"}
    for indicator in set(periods["indicator"]):
        assert catalog.get(indicator).dimensions == {}, indicator
