"""Official runs: what the views, the API and the dashboard show is the latest official run; an analyst's ad-hoc
forecast or a backtest is stored but never replaces it."""

from __future__ import annotations

import polars as pl
import pytest

from aitrack.jobs import forecast
from aitrack.jobs.catalog import current_catalog
from db.read import Reader
from db.session import make_engine
from db.write import Writer
from aitrack.jobs.catalog import sync_catalog
from db.migrate import upgrade
from tests.realdb import build_real_db, load_slice


@pytest.fixture
def slice_db(database_url):
    engine = make_engine(database_url)
    summary = build_real_db(engine, sources=("owid", "worldbank"))
    yield Reader(engine), Writer(engine), summary
    engine.dispose()


def test_an_ad_hoc_run_leaves_the_latest_views_unchanged(slice_db):
    reader, writer, summary = slice_db
    before = reader.crossovers()
    forecasts_before, _ = reader.forecasts()
    assert before and {cx.run_id for cx in before} == {summary.current_run_id}
    adhoc = forecast.forecast_subjects(reader, writer, current_catalog(reader), indicators=["gdp_usd"], horizon=3,
                                       n_paths=200, workers=1)  # fmt: skip
    assert adhoc.kind == "adhoc"
    assert reader.crossovers() == before
    assert reader.forecasts()[0].equals(forecasts_before)
    # The ad-hoc run is stored, with its kind, and can be read by its id.
    runs = {r["id"]: r["kind"] for r in reader.forecast_runs()}
    assert runs[adhoc.run_id] == "adhoc" and runs[summary.backtest_run_id] == "backtest"
    assert [cx.subject for cx in reader.crossovers(run_id=adhoc.run_id)] == ["gdp_usd"]


def test_a_published_run_replaces_the_official_one(slice_db):
    reader, writer, summary = slice_db
    published = forecast.forecast_subjects(reader, writer, current_catalog(reader), indicators=["ai_papers"],
                                           n_paths=200, workers=1, official=True)  # fmt: skip
    by_subject = {cx.subject: cx.run_id for cx in reader.crossovers()}
    assert by_subject["ai_papers"] == published.run_id
    # Subjects the new official run did not cover keep their latest official estimate.
    assert by_subject["gerd_pct_gdp"] == summary.current_run_id


def test_an_ad_hoc_forecast_of_one_subject_matches_the_official_run(slice_db):
    """Run-independent intervals: alone, a subject is calibrated against the official run's stored calibration, so
    an analyst's `aitrack forecast -i ai_papers` gives the rows the dashboard shows (same data, seed and paths)."""
    reader, writer, summary = slice_db
    catalog = current_catalog(reader)
    official = forecast.forecast_subjects(reader, writer, catalog, n_paths=300, workers=1, official=True)
    alone = forecast.forecast_subjects(reader, writer, catalog, indicators=["ai_papers"], n_paths=300, workers=1)
    assert alone.calibrated_on == f"official run {official.run_id} (CHN-USA)"
    mine = alone.forecasts.filter(pl.col("subject") == "ai_papers")
    theirs = official.forecasts.filter(pl.col("subject") == "ai_papers").select(mine.columns)
    assert mine.height > 0 and mine.equals(theirs)
    # Without the reference, the same subject pools only its own two series' backtest errors: other intervals.
    stored = next(r for r in reader.forecast_runs() if r["id"] == official.run_id)["configuration"]
    assert stored["calibrated_on"] == "this run" and set(stored["calibration"]["by_scale"]) <= {"level", "log", "logit"}


def test_another_pair_is_calibrated_on_the_default_pairs_official_run(slice_db):
    reader, writer, summary = slice_db
    # No official run exists for this pair: the default pair's official run is the reference.
    other = forecast.forecast_subjects(reader, writer, current_catalog(reader), indicators=["ai_papers"],
                                       n_paths=200, workers=1, pair=("IND", "CHN"))  # fmt: skip
    assert other.calibrated_on == f"official run {summary.current_run_id} (CHN-USA)"


def test_an_ad_hoc_run_without_any_official_run_says_it_calibrated_on_itself(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        reader, writer = Reader(engine), Writer(engine)
        catalog = current_catalog(reader)
        sync_catalog(writer, catalog)
        load_slice(writer, catalog, ("owid",))
        alone = forecast.forecast_subjects(reader, writer, catalog, indicators=["ai_papers"], n_paths=200, workers=1)
        assert alone.calibrated_on == "this run (no official run by this version to calibrate against)"
        assert alone.forecasts.height > 0
    finally:
        engine.dispose()
