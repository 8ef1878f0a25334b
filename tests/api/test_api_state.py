"""The API against changing and restricted databases: empty, refreshed underneath, and a SELECT-only PostgreSQL role."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from aitrack.api import create_app
from contracts.observations import OBSERVATION_SCHEMA
from db.migrate import upgrade
from db.read import Reader
from db.write import PayloadRecord, SourceRecord, Writer
from db.session import make_engine
from tests.realdb import build_real_db

LIST_PATHS = ("/api/indicators", "/api/observations", "/api/forecasts", "/api/crossovers", "/api/dimensions",
              "/api/evidence")  # fmt: skip

# One verbatim row of ../shared/data/oecd_msti/msti_gerd_goverd_herd_pct_gdp_USA_CHN_excerpt.csv:
# "USA","United States",2021,3.457045678,... ,"2026-09-27","MSTI" (downloaded 2026-09-27 per that folder's SOURCES.md).
MSTI_ROW = b'"USA","United States",2021,3.457045678,0.286629928,0.360431945,0.647061873,"2026-09-27","MSTI"\n'
MSTI_USA_2021 = 3.457045678
# The real-pipeline slice without OECD MSTI: GERD then comes from the World Bank, and the MSTI row arrives later.
WITHOUT_OECD = ("owid", "worldbank", "unga")


def ingest_msti_row(writer: Writer) -> None:
    retrieved = datetime(2026, 9, 27, tzinfo=timezone.utc)
    sha = hashlib.sha256(MSTI_ROW).hexdigest()
    payload = PayloadRecord(
        sha256=sha, source_id="oecd", url="../shared/data/oecd_msti/msti_gerd_goverd_herd_pct_gdp_USA_CHN_excerpt.csv",
        request_params={}, status=200, media_type="text/csv", retrieved_at=retrieved, published=None,
        licence="OECD terms", citation="OECD MSTI", redistributable=False, content=MSTI_ROW,
    )  # fmt: skip
    frame = pl.DataFrame(
        {
            "indicator": ["gerd_pct_gdp"], "country": ["USA"], "year": [2021], "year_start": [2021], "value": [MSTI_USA_2021],
            "unit": ["pct_gdp"], "value_kind": ["measured"], "source": ["oecd"],
            "source_series": ["DSD_MSTI@DF_MSTI:G.PT_B1GQ"], "retrieved_at": [retrieved], "vintage": ["2026-09-27"],
            "snapshot_id": [sha],
        },
        schema=OBSERVATION_SCHEMA,
    )  # fmt: skip
    writer.ingest(
        run_source="oecd", trigger="refresh", started_at=retrieved,
        sources=[SourceRecord(id="oecd", producer="OECD", title="Main Science and Technology Indicators")],
        payloads=[payload], observations=frame,
    )  # fmt: skip


def test_empty_database_answers_empty_lists_and_says_so_on_the_page(engine):
    client = TestClient(create_app(Reader(engine)))
    for path in LIST_PATHS[1:]:
        response = client.get(path)
        assert response.status_code == 200 and response.json() == [], path
        assert response.headers["x-total-count"] == "0"
        assert client.get(path, params={"format": "csv"}).text.count("\n") == 1  # the header line only
    page = client.get("/")
    assert page.status_code == 200
    assert 'id="empty-db"' in page.text
    assert client.get("/api/health").json()["latest_forecast_run"] is None


def test_a_refresh_underneath_is_served_and_changes_the_etag(engine):
    build_real_db(engine, sources=WITHOUT_OECD)
    client = TestClient(create_app(Reader(engine), version_check_seconds=0))
    params = {"indicator": "gerd_pct_gdp", "country": "USA", "from": 2021, "to": 2021}
    before = client.get("/api/observations", params=params)
    assert [(r["source"], r["value"]) for r in before.json()] == [("worldbank", 3.4689)]
    page_before = client.get("/subjects/gerd_pct_gdp").headers["etag"]  # its chart and latest values show 2021

    ingest_msti_row(Writer(engine))  # the catalog prefers OECD over the World Bank for GERD

    after = client.get("/api/observations", params=params)
    assert [(r["source"], r["value"]) for r in after.json()] == [("oecd", MSTI_USA_2021)]
    assert after.headers["etag"] != before.headers["etag"]
    stale = client.get("/api/observations", params=params, headers={"If-None-Match": before.headers["etag"]})
    assert stale.status_code == 200
    assert client.get("/subjects/gerd_pct_gdp").headers["etag"] != page_before


@pytest.mark.postgres
def test_the_api_runs_under_a_select_only_role(postgres_url):
    owner = make_engine(postgres_url)
    upgrade(owner)
    build_real_db(owner)
    role = f"aitrack_read_{uuid.uuid4().hex[:8]}"
    schema = owner.url.query["options"].split("=")[-1]
    with owner.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
    reader = make_engine(make_url(postgres_url).set(username=role).render_as_string(hide_password=False))
    try:
        # The role really cannot write, so the API passing below proves it needs nothing more.
        with pytest.raises(ProgrammingError, match="permission denied"):
            with reader.begin() as conn:
                conn.execute(text("DELETE FROM evidence"))
        client = TestClient(create_app(Reader(reader)))
        for path in LIST_PATHS + ("/api/health", "/", "/docs"):
            assert client.get(path).status_code == 200, path
        papers = client.get("/api/observations", params={"indicator": "ai_papers", "country": "CHN", "from": 2023}).json()
        assert papers[0]["value"] == 103493.0
    finally:
        reader.dispose()
        with owner.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        owner.dispose()


def test_replayed_responses_follow_the_data_version(engine):
    import time

    build_real_db(engine, sources=WITHOUT_OECD)
    client = TestClient(create_app(Reader(engine), version_check_seconds=0.2))
    params = {"indicator": "gerd_pct_gdp", "country": "USA", "from": 2021, "to": 2021}
    first = client.get("/api/observations", params=params)
    again = client.get("/api/observations", params=params)  # answered from the replay cache
    assert (again.content, again.headers["etag"], again.headers["x-total-count"]) == (
        first.content, first.headers["etag"], first.headers["x-total-count"])  # fmt: skip
    same = client.get("/api/observations", params=params, headers={"If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    for _ in range(2):  # an error is never replayed as a success
        assert client.get("/api/observations", params={**params, "from": 1700}).status_code == 422

    ingest_msti_row(Writer(engine))
    time.sleep(0.3)  # past the version re-check interval
    fresh = client.get("/api/observations", params=params)
    assert [(r["source"], r["value"]) for r in fresh.json()] == [("oecd", MSTI_USA_2021)]
    assert fresh.headers["etag"] != first.headers["etag"]
