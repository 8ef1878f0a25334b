"""The notebook Tracker and the API over the same database: the same rows for the same filters, the same errors."""

from __future__ import annotations

import pytest

from aitrack.api.schemas import COLUMNS, MAX_LIMIT
from aitrack.api.serialize import shape_rows
from aitrack.notebook import Tracker
from aitrack.queries import QueryError, UnknownIdError


@pytest.fixture(scope="module")
def tracker(fixture_db):
    with Tracker(fixture_db.url) as t:
        yield t


def same(frame, response, name):
    assert response.status_code == 200, response.text
    assert shape_rows(frame.to_dicts(), COLUMNS[name]) == response.json()


OBSERVATION_FILTERS = [
    {"indicator": "ai_papers"}, {"indicator": "gerd_pct_gdp", "country": "usa", "year_from": 2010, "year_to": 2015},
    {"indicator": "ai_private_investment", "kind": "projection"}, {"country": "XUC"},
    {"indicator": "large_scale_ai_systems", "kind": "provisional"}, {"year_from": 2024, "kind": "measured"},
]  # fmt: skip


@pytest.mark.parametrize("filters", OBSERVATION_FILTERS, ids=str)
def test_observations(tracker, client, filters):
    params = {{"year_from": "from", "year_to": "to"}.get(k, k): v for k, v in filters.items()}
    frame = tracker.observations(**filters)
    assert frame.height <= MAX_LIMIT
    same(frame, client.get("/api/observations", params={**params, "limit": MAX_LIMIT}), "observations")


@pytest.mark.parametrize("filters", [{}, {"subject": "ai_papers"}, {"subject": "legitimacy", "country": "CHN"}], ids=str)
def test_forecasts(tracker, client, filters):
    same(tracker.forecasts(**filters), client.get("/api/forecasts", params={**filters, "limit": MAX_LIMIT}), "forecasts")


def test_forecasts_of_a_backtest_run(tracker, client, fixture_db):
    run = fixture_db.summary.backtest_run_id
    same(tracker.forecasts(run=run), client.get("/api/forecasts", params={"run": run, "limit": MAX_LIMIT}), "forecasts")


@pytest.mark.parametrize("subject", [None, "ai_papers", "legitimacy"])
def test_crossovers(tracker, client, subject):
    params = {"subject": subject} if subject else {}
    same(tracker.crossovers(subject), client.get("/api/crossovers", params=params), "crossovers")


@pytest.mark.parametrize("dimension", [None, "cohesion"])
def test_dimensions(tracker, client, dimension):
    params = {"dimension": dimension, "limit": MAX_LIMIT} if dimension else {"limit": MAX_LIMIT}
    same(tracker.dimensions(dimension), client.get("/api/dimensions", params=params), "dimensions")


@pytest.mark.parametrize("filters", [{}, {"indicator": "uncatalogued", "kind": "target"}, {"country": "CHN-USA"}], ids=str)
def test_evidence(tracker, client, filters):
    same(tracker.evidence(**filters), client.get("/api/evidence", params={**filters, "limit": MAX_LIMIT}), "evidence")


def test_provenance(tracker, client):
    same(tracker.provenance("ai_papers", "chn", 2023),
         client.get("/api/provenance", params={"indicator": "ai_papers", "country": "chn", "year": 2023}), "provenance")


@pytest.mark.parametrize(("call", "path", "params", "error", "status"), [
    (lambda t: t.evidence(kind="bogus"), "/api/evidence", {"kind": "bogus"}, QueryError, 422),
    (lambda t: t.observations("ai_paperz"), "/api/observations", {"indicator": "ai_paperz"}, UnknownIdError, 404),
    (lambda t: t.observations(year_from=2020, year_to=2010), "/api/observations", {"from": 2020, "to": 2010}, QueryError, 422),
    (lambda t: t.forecasts(run="no-such-run"), "/api/forecasts", {"run": "no-such-run"}, UnknownIdError, 404),
    (lambda t: t.dimensions("power"), "/api/dimensions", {"dimension": "power"}, UnknownIdError, 404),
    (lambda t: t.provenance("ai_papers", "CHN", 1901), "/api/provenance",
     {"indicator": "ai_papers", "country": "CHN", "year": 1901}, UnknownIdError, 404),
])  # fmt: skip
def test_the_same_mistake_raises_the_same_message(tracker, client, call, path, params, error, status):
    response = client.get(path, params=params)
    assert response.status_code == status
    with pytest.raises(error) as raised:
        call(tracker)
    assert str(raised.value) == response.json()["detail"]
