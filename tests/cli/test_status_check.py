"""`aitrack status --check` for monitoring: non-zero when a source failed its last run or its data are older than its
cadence allows — judged by the data (newest year, provider's release date), never by when they were fetched."""

from __future__ import annotations

import json
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
    # The World Bank of the embedded snapshot: WDI release 2026-07-13, data to 2025, cadence 120 days.
    row = {"source": "worldbank", "status": "ok", "error": None, "cadence_days": 120, "newest_year": 2025,
           "newest_vintage": "2026-07-13", "last_success": (NOW - timedelta(days=3)).isoformat()}  # fmt: skip
    row.update(overrides)
    return row


def test_fresh_sources_raise_no_problem():
    assert stale_or_failed([_source()], now=NOW) == []


def test_old_data_fetched_just_now_are_still_stale():
    """NCSES's venture-capital table ends in 2020 (cadence 730 days): loading it today does not make it fresh."""
    ncses = _source(source="ncses", cadence_days=730, newest_year=2020, newest_vintage="2026-11-22",
                    last_success=NOW.isoformat())  # fmt: skip
    assert stale_or_failed([ncses], now=NOW) == [
        "ncses: newest data are for 2020, older than its cadence of 730 days allows in 2026"
    ]


def test_an_old_release_is_stale_whatever_the_years_it_covers():
    """The WDI science & technology file of the snapshot was released 2021-09-15."""
    problems = stale_or_failed([_source(newest_vintage="2021-09-15")], now=NOW)
    assert problems == ["worldbank: newest release 2021-09-15 is 1894 days old (cadence 120 days)"]


def test_a_same_day_revision_vintage_reads_as_its_release_date():
    assert stale_or_failed([_source(newest_vintage="2026-07-13#1a2b3c4d")], now=NOW) == []


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
    # The embedded snapshot is old data: loading it is no fresh fetch, and the check says which sources are stale.
    old = runner.invoke(app, ["status", "--check", "--format", "json"])
    assert old.exit_code == 1, old.output
    problems = json.loads(old.stdout)["problems"]
    # Pew's favourability series ends in 2017, the OpenAlex legacy concept counts in 2020 (their SOURCES.md).
    this_year = datetime.now(timezone.utc).year
    assert f"pew: newest data are for 2017, older than its cadence of 365 days allows in {this_year}" in problems
    assert any(p.startswith("openalex: newest data are for 2020") for p in problems)
    assert not any(p.startswith("worldbank: newest data") for p in problems)  # WDI GDP reaches 2025
    repo = Reader(make_engine(sqlite_url))
    Writer(repo.engine).record_failed_run(run_source="top500", trigger="refresh", started_at=datetime.now(timezone.utc), error="SchemaDriftError: header moved")
    failed = runner.invoke(app, ["status", "--check"])
    assert failed.exit_code == 1
    assert "top500: last run failed: SchemaDriftError: header moved" in failed.output
