"""The API's one cache on the real-pipeline database: repeated URLs from memory without a database read, one read per
data version per relation, concurrent misses built once, a bound in bytes; and the HTTP rules around it (repeated
parameters, security headers, Link headers from the configured base URL, CSV formula escaping, provenance)."""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
from fastapi.testclient import TestClient

from aitrack.api import create_app
from aitrack.api.cache import DataVersionCache
from aitrack.present.tabular import csv_cell, to_csv
from db.read import Reader


class CountingReader(Reader):
    """A Reader that counts the calls the API makes (each is one database read)."""

    def __init__(self, engine) -> None:
        super().__init__(engine)
        self.calls: Counter[str] = Counter()

    def latest_observations(self, **kwargs):
        self.calls["latest_observations"] += 1
        return super().latest_observations(**kwargs)

    def data_version(self) -> str:
        self.calls["data_version"] += 1
        return super().data_version()


@pytest.fixture
def counted(fixture_db):
    reader = CountingReader(fixture_db.engine)
    app = create_app(reader, version_check_seconds=3600)
    with TestClient(app) as client:
        yield client, reader, app.state.api.cache


def test_a_repeated_url_is_answered_without_touching_the_database(counted):
    client, reader, _ = counted
    first = client.get("/api/observations", params={"indicator": "ai_papers", "country": "CHN"})
    assert first.status_code == 200
    before = dict(reader.calls)
    for _ in range(5):
        again = client.get("/api/observations", params={"country": "CHN", "indicator": "ai_papers"})  # other order
        assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    assert dict(reader.calls) == before


def test_one_database_read_per_relation_and_version_whatever_the_filters(counted):
    client, reader, _ = counted
    for country in ("CHN", "USA", "XUC"):
        for year_from in (2000, 2010, 2020):
            for limit in (1, 5, 50):
                response = client.get("/api/observations", params={"indicator": "gerd_pct_gdp", "country": country,
                                                                  "from": year_from, "limit": limit})  # fmt: skip
                assert response.status_code == 200
    assert reader.calls["latest_observations"] == 1


def test_concurrent_misses_are_built_once():
    cache = DataVersionCache(lambda: "v1")
    builds, start = [], threading.Barrier(8)

    def build():
        builds.append(1)
        return b"x" * 100

    def ask():
        start.wait()
        assert cache.get_or_build(("relation", "slow"), build) == b"x" * 100

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1


def test_many_distinct_large_pages_stay_under_the_byte_bound(fixture_db):
    bound = 400_000
    app = create_app(fixture_db.repo, cache_max_bytes=bound, version_check_seconds=3600)
    cache = app.state.api.cache
    client = TestClient(app)
    sizes = []
    for limit in range(900, 1000, 3):  # ~34 distinct URLs over the same rows, each body tens of KB
        response = client.get("/api/observations", params={"limit": limit})
        assert response.status_code == 200 and len(response.json()) == limit
        sizes.append(len(response.content))
        assert cache.bytes_used <= bound
    assert sum(sizes) > 2 * bound  # the pages asked for would not have fitted: the bound did the work
    # What stays cached still answers correctly.
    again = client.get("/api/observations", params={"limit": 999})
    assert len(again.json()) == 999


def test_a_value_larger_than_the_bound_is_served_but_not_kept():
    cache = DataVersionCache(lambda: "v1", max_bytes=1000)
    assert cache.get_or_build(("response", "big"), lambda: b"x" * 5000) == b"x" * 5000
    assert cache.bytes_used == 0 and cache.peek(("response", "big")) is None


def test_a_repeated_single_valued_parameter_is_rejected(client):
    response = client.get("/api/observations?indicator=ai_papers&indicator=gerd_pct_gdp")
    assert response.status_code == 422
    assert response.json()["detail"] == "indicator: given 2 times; this parameter takes one value"
    assert client.get("/api/crossovers?subject=ai_papers&subject=ai_papers").status_code == 422


def test_pages_and_api_carry_security_headers(client):
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    api = client.get("/api/crossovers")
    assert api.headers["x-content-type-options"] == "nosniff"
    # The page itself keeps to that policy: no inline script, style or event handler.
    assert not re.search(r"<script>(?!</script>)|<style>|\sstyle=|\son[a-z]+=", page.text)


def test_link_headers_never_use_the_host_header(fixture_db):
    plain = TestClient(create_app(fixture_db.repo))
    response = plain.get("/api/evidence", params={"limit": 100}, headers={"Host": "evil.example"})
    assert "evil.example" not in response.headers["link"]
    assert re.match(r'</api/evidence\?offset=0&limit=100>; rel="first"', response.headers["link"])
    public = TestClient(create_app(fixture_db.repo, public_base_url="https://aitrack.example.org/tracker/"))
    response = public.get("/api/evidence", params={"limit": 100, "kind": "target"}, headers={"Host": "evil.example"})
    links = dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"]))
    assert links["first"] == "https://aitrack.example.org/tracker/api/evidence?kind=target&offset=0&limit=100"


def test_csv_cells_that_would_run_as_formulas_are_defused():
    assert [csv_cell(v) for v in ("=1+1", "+41", "-2", "@SUM(A1)", "\tx", "plain", -34.8, 0)] == [
        "'=1+1", "'+41", "'-2", "'@SUM(A1)", "'\tx", "plain", -34.8, 0]  # fmt: skip
    body = to_csv([{"source_series": "=HYPERLINK(\"http://x\")", "value": -1.5}], ["source_series", "value"]).decode()
    assert body.splitlines()[1] == "\"'=HYPERLINK(\"\"http://x\"\")\",-1.5"


def test_provenance_gives_the_payload_chain(client):
    rows = client.get("/api/provenance", params={"indicator": "ai_papers", "country": "chn", "year": 2023}).json()
    assert len(rows) >= 1 and sum(r["current"] for r in rows) == 1
    current = next(r for r in rows if r["current"])
    # CSET via OWID, data/snapshot/owid/manifest.yaml: the grapher CSV retrieved 2026-05-07 under CC BY 4.0.
    assert (current["value"], current["source"], current["licence"]) == (103493.0, "owid", "CC BY 4.0")
    assert current["payload_url"].startswith("https://ourworldindata.org/grapher/annual-scholarly-publications")
    assert re.fullmatch(r"[0-9a-f]{64}", current["sha256"]) and current["size_bytes"] > 0
    assert current["fetch_command"] == f"aitrack payload {current['sha256']} > {current['sha256'][:12]}.raw"
    missing = client.get("/api/provenance", params={"indicator": "ai_papers", "country": "CHN", "year": 1901})
    assert missing.status_code == 404 and "2023" in missing.json()["valid"]
    assert missing.json()["detail"].startswith("no stored value for ai_papers CHN 1901 (stored years: ")
    assert client.get("/api/provenance", params={"indicator": "ai_papers"}).status_code == 422
