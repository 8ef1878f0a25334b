"""`aitrack status --check` for monitoring: non-zero when a source failed its last run or is staler than its cadence."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from typer.testing import CliRunner

from aitrack.cli import app
from aitrack.monitoring import stale_or_failed
from db.read import Reader
from db.write import Writer
from db.session import make_engine

runner = CliRunner()
NOW = datetime(2026, 11, 22, tzinfo=timezone.utc)


def _source(**overrides):
    row = {"source": "worldbank", "status": "ok", "error": None, "cadence_days": 30,
           "last_success": (NOW - timedelta(days=3)).isoformat()}  # fmt: skip
    row.update(overrides)
    return row


def test_fresh_sources_raise_no_problem():
    assert stale_or_failed([_source()], now=NOW) == []


def test_a_source_older_than_its_cadence_is_reported():
    problems = stale_or_failed([_source(last_success=(NOW - timedelta(days=31)).isoformat())], now=NOW)
    assert problems == ["worldbank: last successful fetch 31 days ago, cadence 30 days"]


def test_a_failed_last_run_is_reported_with_its_error():
    problems = stale_or_failed([_source(status="failed", error="SourceUnavailableError: HTTP 503\nmore")], now=NOW)
    assert problems == ["worldbank: last run failed: SourceUnavailableError: HTTP 503"]


def test_an_empty_database_is_a_problem():
    assert stale_or_failed([], now=NOW)


def test_check_exit_codes_through_the_cli(monkeypatch, sqlite_url, tmp_path):
    monkeypatch.setenv("AITRACK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["status", "--check"]).exit_code == 1  # nothing fetched yet
    assert runner.invoke(app, ["refresh", "--offline"]).exit_code == 0
    ok = runner.invoke(app, ["status", "--check", "--format", "json"])
    assert ok.exit_code == 0, ok.output
    repo = Reader(make_engine(sqlite_url))
    Writer(repo.engine).record_failed_run(run_source="top500", trigger="refresh", started_at=datetime.now(timezone.utc), error="SchemaDriftError: header moved")
    failed = runner.invoke(app, ["status", "--check"])
    assert failed.exit_code == 1
    assert "top500: last run failed: SchemaDriftError: header moved" in failed.output
