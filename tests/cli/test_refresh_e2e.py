"""`aitrack refresh --source worldbank` against a local server that serves World Bank API v2 JSON.

The served bodies are the fixtures in tests/fixtures/live/worldbank/ (built from the real WDI bulk files in the
API's format; see tests/fixtures/README.md). Other indicator codes get the API's empty-result page.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from aitrack.cli import app
from aitrack.locking import refresh_lock
from db import models as m
from db.read import Reader
from db.session import make_engine

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "live" / "worldbank"
runner = CliRunner()


def _fixture_rows(name: str) -> list[dict]:
    return json.loads((FIXTURES / name).read_text())[1]


class WorldBankStub(BaseHTTPRequestHandler):
    mode = "ok"  # ok | unavailable
    requests: list[str] = []

    def log_message(self, *args):  # keep test output clean
        return

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).requests.append(self.path)
        if type(self).mode == "unavailable":
            self.send_response(503)
            self.end_headers()
            return
        parts = urlsplit(self.path)
        code = parts.path.rsplit("/", 1)[-1]
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        if code == "GB.XPD.RSDV.GD.ZS":
            body = (FIXTURES / f"gerd_page{page}.json").read_bytes()
        elif code == "SP.POP.TOTL":
            body = (FIXTURES / "population.json").read_bytes()
        else:
            body = json.dumps([{"page": 1, "pages": 0, "per_page": 1000, "total": 0, "sourceid": "2",
                                "lastupdated": "2026-07-13"}, None]).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def wb_server():
    WorldBankStub.mode = "ok"
    WorldBankStub.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), WorldBankStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(monkeypatch, tmp_path, database_url, wb_server):
    monkeypatch.setenv("AITRACK_DATABASE_URL", database_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AITRACK_WORLDBANK_BASE_URL", wb_server)
    monkeypatch.setenv("AITRACK_HTTP_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("AITRACK_HTTP_MAX_RETRIES", "2")
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return {"url": database_url, "server": wb_server, "data_dir": tmp_path / "data"}


def test_refresh_stores_exactly_the_served_values_with_provenance(env):
    result = runner.invoke(app, ["refresh", "--source", "worldbank"])
    assert result.exit_code == 0, result.output
    assert all(path.startswith("/v2/country/USA;CHN;WLD/indicator/") for path in WorldBankStub.requests)

    served = _fixture_rows("gerd_page1.json") + _fixture_rows("gerd_page2.json")
    expected = {(r["countryiso3code"], int(r["date"])): r["value"] for r in served if r["value"] is not None}
    repo = Reader(make_engine(env["url"]))
    stored = repo.observations(indicator="gerd_pct_gdp")
    got = {(r["country"], r["year"]): r["value"] for r in stored.iter_rows(named=True)}
    assert got == expected
    assert set(stored["vintage"]) == {"2026-07-13"}  # `lastupdated` of the served pages
    assert set(stored["source"]) == {"worldbank"} and set(stored["source_series"]) == {"GB.XPD.RSDV.GD.ZS"}

    with repo.engine.connect() as conn:
        payloads = conn.execute(select(m.RawPayload.sha256, m.RawPayload.url, m.RawPayload.content)).all()
    by_sha = {sha: (url, content) for sha, url, content in payloads}
    for sha in set(stored["snapshot_id"]):
        url, content = by_sha[sha]
        assert url.startswith(env["server"] + "/v2/country/")
        assert json.loads(content)[0]["lastupdated"] == "2026-07-13"
    status = {s["source"]: s for s in repo.source_status()}
    assert status["worldbank"]["status"] == "ok" and status["worldbank"]["newest_vintage"] == "2026-07-13"

    again = runner.invoke(app, ["refresh", "--source", "worldbank"])
    assert again.exit_code == 0
    assert repo.observations(indicator="gerd_pct_gdp").height == stored.height


def test_a_failing_source_keeps_its_earlier_data_and_exits_2(env):
    assert runner.invoke(app, ["refresh", "--source", "worldbank"]).exit_code == 0
    repo = Reader(make_engine(env["url"]))
    before = repo.observations().height
    WorldBankStub.mode = "unavailable"
    result = runner.invoke(app, ["refresh", "--source", "worldbank"])
    assert result.exit_code == 2
    assert "failed" in result.output
    assert repo.observations().height == before
    status = {s["source"]: s for s in repo.source_status()}
    assert status["worldbank"]["status"] == "failed"
    assert "SourceUnavailableError" in status["worldbank"]["error"]


def test_unknown_source_is_one_line_and_exit_2(env):
    result = runner.invoke(app, ["refresh", "--source", "nosuch"])
    assert result.exit_code == 2
    assert "unknown source nosuch" in result.output and "Traceback" not in result.output


def test_two_refreshes_cannot_overlap(env):
    with refresh_lock(env["data_dir"]):
        result = runner.invoke(app, ["refresh", "--source", "worldbank"])
    assert result.exit_code == 3
    assert "another refresh, build, import or forecast is running" in result.output
    assert WorldBankStub.requests == []
