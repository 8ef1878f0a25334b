"""Issue 14, failure 3: crashes looked like partial success. Exit codes now mean one thing each (0 ok, 1 handled
partial failure, 2 failed or bad input, 3 locked, 4 internal error with the traceback in a log file); the cron wrapper
and the systemd unit alert on anything but 0 and 1; a fetch run is written `running` first and beaten, so an
interrupted run is visible and then marked failed; `status --check` also fails on a source that never ran and on
official forecasts older than their data.
"""

from __future__ import annotations

import configparser
import os
import signal
import stat
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from aitrack.cli import app
from aitrack.jobs import build as build_job
from contracts.exits import EXIT_CODES_HELP
from db.session import make_engine
from db.write import Writer

from .helpers import WorldBankStub, aitrack_env, rows, run_aitrack, scalar, serve, start_aitrack, wait_for

CRON = Path(__file__).resolve().parents[2] / "cron"
runner = CliRunner()


@pytest.fixture
def env(monkeypatch, tmp_path, sqlite_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return tmp_path / "data"


def test_an_unexpected_error_is_exit_4_one_line_and_a_log_file(env, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("dimension_weights")

    monkeypatch.setattr(build_job, "build", broken)
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 4
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith("internal error: KeyError: 'dimension_weights' (traceback in ")
    log = env / "logs" / "aitrack-errors.log"
    assert str(log) in result.output.replace("\n", "")
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'dimension_weights'" in text
    assert " build (argv " in text


def test_every_command_help_lists_the_exit_codes():
    for command in (["refresh"], ["import"], ["build"], ["status"], ["forecast"], ["db", "upgrade"], ["db", "check"]):
        result = runner.invoke(app, [*command, "--help"], terminal_width=400)
        assert result.exit_code == 0
        assert " ".join(EXIT_CODES_HELP.split()) in " ".join(result.output.split()), command


def _fake_aitrack(tmp_path: Path, code: int) -> Path:
    fake = tmp_path / f"fake-aitrack-{code}"
    fake.write_text(f"#!/bin/sh\nexit {code}\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return fake


@pytest.mark.parametrize("code", [0, 1, 2, 3, 4, 143])
def test_the_cron_wrapper_passes_the_code_through_and_alerts_on_anything_but_0_and_1(tmp_path, code):
    logged = tmp_path / "syslog"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "logger").write_text(f"#!/bin/sh\necho \"$@\" >> {logged}\n")
    (bin_dir / "logger").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "AITRACK_BIN": str(_fake_aitrack(tmp_path, code))}
    done = subprocess.run([str(CRON / "aitrack-refresh.sh")], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == code
    alerted = "ALERT" in done.stderr
    assert alerted == (code not in (0, 1)), done.stderr
    assert logged.exists() == alerted
    if alerted:
        assert f"(exit {code})" in logged.read_text() and "-p user.err" in logged.read_text()


def test_the_systemd_unit_treats_only_0_and_1_as_success_and_raises_an_alert_otherwise():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(CRON / "aitrack-refresh.service")
    assert unit["Service"]["SuccessExitStatus"].split() == ["1"]
    assert unit["Unit"]["OnFailure"] == "aitrack-alert@%n.service"
    assert (CRON / "aitrack-alert@.service").is_file()


def test_a_run_is_written_running_first_beats_and_is_marked_failed_after_a_kill(tmp_path, database_url):
    with serve(WorldBankStub) as base_url:
        WorldBankStub.reset(delay_first_s=30.0)
        env = aitrack_env(database_url, tmp_path / "data", AITRACK_WORLDBANK_BASE_URL=base_url,
                          AITRACK_HEARTBEAT_S="0.2")  # fmt: skip
        assert run_aitrack(["db", "upgrade"], env).returncode == 0
        refresh = start_aitrack(["refresh", "--source", "worldbank"], env)
        try:
            beat = "SELECT heartbeat_at FROM fetch_run WHERE status = 'running'"
            first = wait_for(lambda: scalar(database_url, beat), what="a running fetch run")
            wait_for(lambda: scalar(database_url, beat) != first, timeout=10, what="a heartbeat")
        finally:
            refresh.send_signal(signal.SIGKILL)
            refresh.communicate(timeout=30)
        WorldBankStub.reset()
        check = run_aitrack(["status", "--check"], env)
        assert check.returncode == 1
        assert "worldbank: the run started" in check.stderr and "was interrupted" in check.stderr
        again = run_aitrack(["refresh", "--source", "worldbank"], env)
        assert again.returncode == 0, again.stderr
    runs = rows(database_url, "SELECT status, error FROM fetch_run ORDER BY id")
    assert [r[0] for r in runs] == ["failed", "ok"] and runs[0][1].startswith("interrupted: process")


def test_sigterm_ends_the_run_cleanly_with_143_and_marks_it(tmp_path, sqlite_url):
    with serve(WorldBankStub) as base_url:
        WorldBankStub.reset(delay_first_s=30.0)
        env = aitrack_env(sqlite_url, tmp_path / "data", AITRACK_WORLDBANK_BASE_URL=base_url)
        assert run_aitrack(["db", "upgrade"], env).returncode == 0
        refresh = start_aitrack(["refresh", "--source", "worldbank"], env)
        wait_for(lambda: scalar(sqlite_url, "SELECT count(*) FROM fetch_run WHERE status = 'running'"),
                 what="a running fetch run")  # fmt: skip
        started = time.monotonic()
        refresh.send_signal(signal.SIGTERM)
        _, err = refresh.communicate(timeout=30)
        assert time.monotonic() - started < 10  # the stalled request is cancelled, not waited for
        WorldBankStub.reset()
    assert refresh.returncode == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert rows(sqlite_url, "SELECT status FROM fetch_run") == [("failed",)]
    assert scalar(sqlite_url, "SELECT count(*) FROM job_lock") == 0  # released on the way out


def test_check_fails_on_a_source_that_never_ran(tmp_path, sqlite_url):
    with serve(WorldBankStub) as base_url:
        WorldBankStub.reset()
        env = aitrack_env(sqlite_url, tmp_path / "data", AITRACK_WORLDBANK_BASE_URL=base_url)
        assert run_aitrack(["db", "upgrade"], env).returncode == 0
        assert run_aitrack(["refresh", "--source", "worldbank"], env).returncode == 0
    check = run_aitrack(["status", "--check", "--format", "json"], env)
    assert check.returncode == 1
    assert "openalex: never ran (run `aitrack refresh` or `aitrack refresh --offline`)" in check.stdout
    assert "worldbank: never ran" not in check.stdout


def test_check_fails_on_official_forecasts_older_than_their_data(env):
    assert runner.invoke(app, ["refresh", "--offline"]).exit_code == 0
    assert "official forecasts" not in runner.invoke(app, ["status", "--check"]).output  # no official run yet
    engine = make_engine(os.environ["AITRACK_DATABASE_URL"])
    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    empty = pl.DataFrame(schema={"subject": pl.String, "subject_kind": pl.String, "country": pl.String,
                                 "model": pl.String, "year": pl.Int64, "mean": pl.Float64, "lo_80": pl.Float64,
                                 "hi_80": pl.Float64, "lo_95": pl.Float64, "hi_95": pl.Float64})  # fmt: skip
    Writer(engine).save_forecast_run(
        run={"id": "00000000-0000-0000-0000-000000000001", "created_at": an_hour_ago, "as_of": None, "horizon": 15,
             "n_paths": 100, "seed": 0, "code_version": "test", "data_fingerprint": "0" * 64},
        forecasts=empty, crossovers=[],
    )  # fmt: skip
    stale = runner.invoke(app, ["status", "--check"])
    assert stale.exit_code == 1
    assert "official forecasts (run 00000000-0000-0000-0000-000000000001" in stale.output
    assert "are older than the data" in stale.output
