"""Issue 14, failure 7: migrations under real operations. A database of a newer aitrack is refused in one line naming
both versions; drift between the models and the live schema (a view dropped by hand, a missing column) is detected by
`aitrack db check` and `status`, and `db upgrade` recreates views; SQLite is backed up before an upgrade, PostgreSQL
gets the pg_dump line; an upgrade that would break on stored rows says so in one line.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from aitrack.cli import app
from db.migrate import current_revision, head_revision, upgrade
from db.session import make_engine

from .helpers import USER_FIXTURE

runner = CliRunner()


@pytest.fixture
def env(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", database_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return make_engine(database_url)


def _one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_a_database_of_a_newer_aitrack_is_refused_in_one_line(env):
    head = head_revision(env)
    with env.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    for command in (["status"], ["db", "upgrade"], ["db", "check"], ["refresh", "--offline"], ["build"], ["run"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, (command, result.output)
        line = _one_line(result)
        assert "revision 0099" in line and f"newest is {head}" in line and "upgrade aitrack" in line, line
    assert current_revision(env) == "0099"  # nothing touched


def test_a_view_dropped_by_hand_is_detected_and_recreated(env):
    with env.begin() as conn:
        conn.execute(text("DROP VIEW v_latest_observation"))
    check = runner.invoke(app, ["db", "check"])
    assert check.exit_code == 1 and "view v_latest_observation is missing" in check.output
    for command in (["status"], ["build"]):  # the probe: build crashed, the API answered 500
        result = runner.invoke(app, command)
        assert result.exit_code == 2 and "view(s) v_latest_observation missing" in _one_line(result)
    fixed = runner.invoke(app, ["db", "upgrade"])
    assert fixed.exit_code == 0 and "recreated the views" in fixed.output, fixed.output
    assert runner.invoke(app, ["db", "check"]).exit_code == 0
    assert runner.invoke(app, ["build"]).exit_code == 0


def test_a_missing_column_is_drift_for_db_check_and_status_check(env):
    with env.begin() as conn:
        conn.execute(text("DROP VIEW v_latest_observation"))  # SQLite cannot drop a column a view reads
        conn.execute(text("ALTER TABLE fetch_run DROP COLUMN heartbeat_at"))
    check = runner.invoke(app, ["db", "check", "--format", "json"])
    assert check.exit_code == 1
    assert "the database lacks column fetch_run.heartbeat_at (the models have it)" in check.output
    upgraded = runner.invoke(app, ["db", "upgrade"])  # views come back; a missing column is reported, not hidden
    assert upgraded.exit_code == 1 and "fetch_run.heartbeat_at" in upgraded.output


def test_sqlite_backup_is_a_consistent_copy_and_postgres_gets_the_pg_dump_line(env, tmp_path):
    assert runner.invoke(app, ["import", str(USER_FIXTURE)]).exit_code == 0
    result = runner.invoke(app, ["db", "backup"])
    if env.dialect.name != "sqlite":
        assert result.exit_code == 2 and "pg_dump -Fc" in _one_line(result)
        return
    assert result.exit_code == 0, result.output
    [copy] = (tmp_path / "data" / "backups").glob("aitrack-0003-*.db")
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM observation").fetchone() == (44,)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)


def test_an_upgrade_from_0002_is_backed_up_and_refuses_rows_that_break_the_new_rules(monkeypatch, tmp_path, sqlite_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    engine = make_engine(sqlite_url)
    upgrade(engine, "0002")
    now = datetime(2026, 11, 22, tzinfo=timezone.utc)
    with engine.begin() as conn:  # what round 2 let an analyst import: a negative count, and an empty user indicator
        conn.execute(text("INSERT INTO source (id, producer, title, homepage, licence, citation, redistributable, "
                          "cadence_days) VALUES ('user', 'analyst', 'mine', '', '', '', false, 36500)"))
        conn.execute(text("INSERT INTO raw_payload (sha256, source_id, url, request_params, status, media_type, "
                          "retrieved_at, licence, citation, redistributable, size_bytes, content, extra) VALUES "
                          "(:s, 'user', 'f.csv', '{}', 200, 'text/csv', :t, '', '', false, 1, x'00', '{}')"),
                     {"s": "a" * 64, "t": now})  # fmt: skip
        for ind in ("top500_june_systems", "left_empty"):
            conn.execute(text("INSERT INTO indicator (id, name, unit, category, direction, comparison, forecast_scale, "
                              "cadence_days, origin, caveats, spec) VALUES (:i, :i, 'count', 'user', "
                              "'higher_is_better', 'pair', 'log', 365, 'user', '[]', '{}')"), {"i": ind})  # fmt: skip
        conn.execute(text("INSERT INTO observation (indicator_id, country, year, year_start, value, unit, value_kind, "
                          "source_id, source_series, retrieved_at, vintage, snapshot_id) VALUES "
                          "('top500_june_systems', 'CHN', 2006, 2006, -28, 'count', 'measured', 'user', 'TOP500', :t, "
                          "'2026-11-22', :s)"), {"s": "a" * 64, "t": now})  # fmt: skip
    refused = runner.invoke(app, ["db", "upgrade"])
    assert refused.exit_code == 2
    line = _one_line(refused)
    assert "1 stored observation(s) break" in line and "top500_june_systems CHN 2006 value -28 count" in line
    assert "--drop-invalid" in line and current_revision(engine) == "0002"
    done = runner.invoke(app, ["db", "upgrade", "--drop-invalid"])
    assert done.exit_code == 0 and "upgraded from 0002 to 0003" in done.output, done.output
    backups = sorted((tmp_path / "data" / "backups").glob("aitrack-0002-*-before-0003.db"))
    assert backups  # taken before each attempt
    with sqlite3.connect(backups[-1]) as conn:
        assert conn.execute("SELECT count(*) FROM observation").fetchone() == (1,)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM observation")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM indicator WHERE origin = 'user'")).scalar_one() == 0


def test_downgrade_brings_files_kept_on_disk_back_into_the_table(env, tmp_path):
    assert runner.invoke(app, ["import", str(USER_FIXTURE)]).exit_code == 0
    down = runner.invoke(app, ["db", "downgrade", "0002"])
    assert down.exit_code == 0, down.output
    assert current_revision(env) == "0002"
    with env.connect() as conn:
        assert conn.execute(text("SELECT content FROM raw_payload")).scalar_one() == USER_FIXTURE.read_bytes()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(app, ["db", "check"]).exit_code == 0


def test_an_upgrade_from_0002_keeps_every_stored_row(monkeypatch, tmp_path, database_url):
    """SQLite rebuilds raw_payload and fetch_run for 0003 while observations refer to them (foreign keys)."""
    monkeypatch.setenv("AITRACK_DATABASE_URL", database_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    engine = make_engine(database_url)
    upgrade(engine, "0002")
    now = datetime(2026, 7, 20, tzinfo=timezone.utc)
    with engine.begin() as conn:  # GB.XPD.RSDV.GD.ZS, CHN 2020 and 2021 (tests/fixtures/live/worldbank)
        conn.execute(text("INSERT INTO source (id, producer, title, homepage, licence, citation, redistributable, "
                          "cadence_days) VALUES ('worldbank', 'World Bank', 'WDI', '', 'CC BY 4.0', '', true, 120)"))
        conn.execute(text("INSERT INTO raw_payload (sha256, source_id, url, request_params, status, media_type, "
                          "retrieved_at, licence, citation, redistributable, size_bytes, content, extra) VALUES "
                          "(:s, 'worldbank', 'https://api.worldbank.org/v2', '{}', 200, 'application/json', :t, "
                          "'CC BY 4.0', '', true, 4, :c, '{}')"), {"s": "b" * 64, "t": now, "c": b"wb-1"})  # fmt: skip
        run_id = conn.execute(text("INSERT INTO fetch_run (source_id, trigger, started_at, finished_at, status, "
                                   "n_payloads, rows_added, rows_unchanged, rows_revised) VALUES ('worldbank', "
                                   "'refresh', :t, :t, 'ok', 1, 2, 0, 0) RETURNING id"), {"t": now}).scalar_one()  # fmt: skip
        conn.execute(text("INSERT INTO indicator (id, name, unit, category, direction, comparison, forecast_scale, "
                          "cadence_days, origin, caveats, spec) VALUES ('gerd_pct_gdp', 'GERD', 'pct_gdp', 'cohesion', "
                          "'higher_is_better', 'pair', 'logit', 365, 'catalog', '[]', '{}')"))  # fmt: skip
        for year, value in ((2020, 2.35712), (2021, 2.38165)):
            conn.execute(text("INSERT INTO observation (indicator_id, country, year, year_start, value, unit, "
                              "value_kind, source_id, source_series, retrieved_at, vintage, snapshot_id, fetch_run_id) "
                              "VALUES ('gerd_pct_gdp', 'CHN', :y, :y, :v, 'pct_gdp', 'measured', 'worldbank', "
                              "'GB.XPD.RSDV.GD.ZS', :t, '2026-07-13', :s, :r)"),
                         {"y": year, "v": value, "t": now, "s": "b" * 64, "r": run_id})  # fmt: skip
    done = runner.invoke(app, ["db", "upgrade"])
    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT year, value, fetch_run_id FROM observation ORDER BY year")).all() == [
            (2020, 2.35712, run_id), (2021, 2.38165, run_id)]
        assert conn.execute(text("SELECT content FROM raw_payload")).scalar_one() == b"wb-1"
    assert runner.invoke(app, ["db", "check"]).exit_code == 0
