"""Official runs: what the views, the API and the dashboard show is the latest official run; an analyst's ad-hoc
forecast or a backtest is stored but never replaces it."""

from __future__ import annotations

import pytest

from aitrack.jobs import forecast
from aitrack.jobs.catalog import current_catalog
from db.read import Reader
from db.session import make_engine
from db.write import Writer
from tests.realdb import build_real_db


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
