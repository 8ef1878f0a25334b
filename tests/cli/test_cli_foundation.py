"""CLI exit codes and output through Typer's CliRunner: db upgrade, status, settings and database errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aitrack.cli import app

runner = CliRunner()


@pytest.fixture
def env_db(monkeypatch, database_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", database_url)
    return database_url


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "db" in result.output and "status" in result.output


def test_upgrade_then_status_json(env_db):
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0, first.output
    assert "upgraded from empty" in first.output
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and "already at revision" in again.output
    result = runner.invoke(app, ["status", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["sources"] == []
    assert payload["tables"]["observation"] == 0


def test_status_before_upgrade_says_what_to_do(env_db):
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    assert "aitrack db upgrade" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not-a-url", "invalid setting AITRACK_DATABASE_URL"),
        ("postgresql+psycopg://postgres@127.0.0.1:9/test", "cannot open database"),
        ("nosuchdialect://x/y", "unsupported database URL"),
    ],
)
def test_bad_database_url_is_one_line_exit_2(monkeypatch, url, message):
    monkeypatch.setenv("AITRACK_DATABASE_URL", url)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_a_file_that_is_not_a_database(monkeypatch, tmp_path):
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"these are notes, not an SQLite database\n" * 64)
    monkeypatch.setenv("AITRACK_DATABASE_URL", f"sqlite:///{bogus}")
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 2
    assert "file is not a database" in result.output


def test_unknown_format_is_rejected(env_db):
    runner.invoke(app, ["db", "upgrade"])
    result = runner.invoke(app, ["status", "--format", "xml"])
    assert result.exit_code == 2 and "unknown format" in result.output


def test_secrets_are_never_printed(monkeypatch, sqlite_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AITRACK_OPENALEX_API_KEY", "sk-very-secret-value")
    from aitrack.settings import load_settings

    settings = load_settings()
    assert "sk-very-secret-value" not in repr(settings)
    assert settings.api_keys()["openalex"].get_secret_value() == "sk-very-secret-value"
