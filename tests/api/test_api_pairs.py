"""`?pair=` on the API and the dashboard pages: the default pair's official rows by default; another pair's when it was
published (an official run of that pair, which leaves the default pair's rows alone); 422 for a bad pair, 404 saying
how to compute or publish it for a pair with nothing stored.

The database: the real pipeline's slice (tests/realdb.py) and one official run of India vs China on two indicators.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from aitrack.api import create_app
from aitrack.jobs import forecast
from aitrack.jobs.catalog import current_catalog
from db.read import Reader
from db.session import make_engine
from db.write import Writer
from tests.realdb import N_PATHS, SEED, build_real_db

PAIR_INDICATORS = ["ai_papers", "gerd_pct_gdp"]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Iterator[tuple[TestClient, Reader, list]]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('pairs-api') / 'aitrack.db'}")
    summary = build_real_db(engine)
    reader = Reader(engine)
    default_before = reader.crossovers(pair="CHN-USA")
    forecast.forecast_subjects(reader, Writer(engine), current_catalog(reader), indicators=PAIR_INDICATORS,
                               n_paths=N_PATHS, seed=SEED, workers=1, official=True, pair=("IND", "CHN"))  # fmt: skip
    with TestClient(create_app(reader)) as client:
        yield client, reader, default_before
    engine.dispose()


def test_publishing_another_pair_leaves_the_default_pair_official_rows_alone(published):
    client, reader, default_before = published
    assert reader.crossovers(pair="CHN-USA") == default_before
    default = client.get("/api/crossovers").json()
    assert default and {r["pair"] for r in default} == {"CHN-USA"}
    assert client.get("/api/crossovers", params={"pair": "CHN,USA"}).json() == default
    forecasts = client.get("/api/forecasts", params={"limit": 1000}).json()
    assert forecasts and {r["pair"] for r in forecasts} == {"CHN-USA"}


def test_pair_returns_the_published_pair_rows(published):
    client, _, _ = published
    rows = client.get("/api/crossovers", params={"pair": "ind,chn"}).json()
    assert sorted(r["subject"] for r in rows) == sorted(PAIR_INDICATORS)
    papers = next(r for r in rows if r["subject"] == "ai_papers")
    assert papers["pair"] == "IND-CHN" and papers["leader_now"] == "CHN"
    assert papers["question"] == "When does India pass China?"
    forecasts = client.get("/api/forecasts", params={"pair": "IND-CHN", "subject": "ai_papers", "limit": 1000}).json()
    assert {r["country"] for r in forecasts} == {"IND", "CHN"}
    csv = client.get("/api/crossovers", params={"pair": "IND,CHN", "format": "csv"})
    assert csv.status_code == 200 and csv.text.count("IND-CHN") == len(PAIR_INDICATORS)


@pytest.mark.parametrize("bad", ["CHN", "CHN,CHN", "WLD,USA", "XQZ,USA", "CHN;USA"])
@pytest.mark.parametrize("path", ["/api/crossovers", "/api/forecasts", "/api/dimensions", "/"])
def test_a_bad_pair_is_422(published, path, bad):
    client, _, _ = published
    response = client.get(path, params={"pair": bad})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["pair"]


@pytest.mark.parametrize("path", ["/api/crossovers", "/api/dimensions", "/", "/subjects/ai_papers"])
def test_a_pair_with_nothing_stored_is_404_saying_how_to_get_it(published, path):
    client, _, _ = published
    response = client.get(path, params={"pair": "BRA,CHN"})
    assert response.status_code == 404
    body = response.json()
    assert "no official results stored for the pair BRA-CHN" in body["detail"] and "--publish" in body["detail"]
    assert set(body["valid"]) == {"CHN-USA", "IND-CHN"}


def test_the_dashboard_pages_show_the_asked_pair(published):
    client, _, _ = published
    page = client.get("/", params={"pair": "IND,CHN"})
    assert page.status_code == 200
    assert "When does India pass China?" in page.text and "When does China pass the US?" not in page.text
    default = client.get("/")
    assert "When does India pass China?" not in default.text
    subject = client.get("/subjects/ai_papers", params={"pair": "IND,CHN"})
    assert subject.status_code == 200 and "India" in subject.text
