"""Issue 14, failure 1: two hosts refreshing one database. The lock lives in the database (PostgreSQL advisory lock,
an SQLite lock row), so a refresh from a second data directory exits 3 at once; revisions are keyed by their value, so
a retry or a race never stores one value twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select

from aitrack.locking import JobLocked, job_lock
from db import models as m
from db.locks import DatabaseLock, LockHeld
from db.migrate import upgrade
from db.session import make_engine
from db.write import Writer

from .helpers import (
    DUPLICATE_VALUES, REVISED_USA_POPULATION, WorldBankStub, aitrack_env, rows, run_aitrack, scalar, serve,
    start_aitrack, wait_for,
)  # fmt: skip


def _race(database_url, tmp_path, base_url, name):
    """Refresh A from one data directory, held at its first request; refresh B from another meanwhile; then A goes on."""
    env_a = aitrack_env(database_url, tmp_path / f"host-a-{name}", AITRACK_WORLDBANK_BASE_URL=base_url)
    env_b = aitrack_env(database_url, tmp_path / f"host-b-{name}", AITRACK_WORLDBANK_BASE_URL=base_url)
    first = start_aitrack(["refresh", "--source", "worldbank"], env_a)
    try:
        wait_for(lambda: WorldBankStub.requests or first.poll() is not None, timeout=60,
                 what="the first refresh to reach the provider")  # fmt: skip
        second = run_aitrack(["refresh", "--source", "worldbank"], env_b)
    finally:
        WorldBankStub.hold_first.set()
    out, err = first.communicate(timeout=120)
    return (first.returncode, out, err), second


def test_two_data_dirs_refreshing_one_database_one_exits_3_and_no_value_is_stored_twice(database_url, tmp_path):
    env = aitrack_env(database_url, tmp_path / "admin")
    assert run_aitrack(["db", "upgrade"], env).returncode == 0
    with serve(WorldBankStub) as base_url:
        # On an empty database (the probe: the second crashed with IntegrityError on pk_indicator).
        WorldBankStub.reset(hold=True)
        (code_a, _, err_a), second = _race(database_url, tmp_path, base_url, "empty")
        assert code_a == 0, err_a
        assert second.returncode == 3, second.stderr
        assert "another job is running on this database" in second.stderr
        assert "refresh on host" in second.stderr and "Traceback" not in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        stored = scalar(database_url, "SELECT count(*) FROM observation")
        assert stored > 0

        # The provider revises values under the same release date, while two hosts refresh (the probe: both exit 0,
        # every revised value stored twice under two timestamped vintages).
        WorldBankStub.reset(revised=True, hold=True)
        (code_a, _, err_a), second = _race(database_url, tmp_path, base_url, "revised")
        assert code_a == 0, err_a
        assert second.returncode == 3, second.stderr
        # The second host retries later: the revision is already there, nothing is added.
        WorldBankStub.reset(revised=True)
        retry = run_aitrack(["refresh", "--source", "worldbank"],
                            aitrack_env(database_url, tmp_path / "host-b-retry", AITRACK_WORLDBANK_BASE_URL=base_url))
        assert retry.returncode == 0, retry.stderr

    assert rows(database_url, DUPLICATE_VALUES) == []
    usa = rows(database_url, "SELECT year, vintage, value FROM observation WHERE indicator_id = 'population' "
                             "AND country = 'USA' ORDER BY year, vintage")  # fmt: skip
    assert len(usa) == 10  # 2018–2022: the first value and its one revision each
    revisions = {str(year): value for year, vintage, value in usa if vintage != "2024-05-30"}
    assert revisions == {year: float(v) for year, v in REVISED_USA_POPULATION.items()}
    assert all(vintage.startswith("2024-05-30#") for _, vintage, _ in usa if vintage != "2024-05-30")
    assert scalar(database_url, "SELECT count(*) FROM observation") == stored + 5
    assert scalar(database_url, "SELECT count(*) FROM job_lock") == 0  # released


TRY_LOCK = """
import sys, time
from db.locks import DatabaseLock, LockHeld
from db.session import make_engine
lock = DatabaseLock(make_engine(sys.argv[1]), job=sys.argv[2])
try:
    lock.acquire()
except LockHeld as exc:
    print("held:", exc, flush=True)
    sys.exit(3)
print("acquired", flush=True)
if sys.argv[3] == "hold":
    time.sleep(600)
lock.release()
"""


def _try_in_another_process(url: str, job: str = "build") -> str:
    done = subprocess.run([sys.executable, "-c", TRY_LOCK, url, job, "release"], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode in (0, 3), done.stderr
    return done.stdout.strip()


def test_the_lock_excludes_another_process_and_is_reentrant_in_one(engine):
    url = engine.url.render_as_string(hide_password=False)
    with DatabaseLock(engine, job="refresh") as outer:
        with DatabaseLock(engine, job="forecast") as inner:  # refresh --then-forecast: the same holder, once
            assert inner is outer
        assert _try_in_another_process(url).startswith("held: the database lock 'jobs' is held by refresh on host")
    assert _try_in_another_process(url) == "acquired"  # released: free again


def test_a_holder_killed_with_sigkill_does_not_keep_the_lock(engine):
    url = engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", TRY_LOCK, url, "refresh", "hold"], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "acquired"
        assert _try_in_another_process(url).startswith("held:")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # PostgreSQL releases a dead session's lock; on SQLite the row names a process of this host that is gone.
    wait_for(lambda: _try_in_another_process(url) == "acquired", timeout=20, what="the dead holder's lock to be free")


def test_a_stale_lock_row_of_another_host_is_taken_over_after_the_lease(sqlite_url):
    engine = make_engine(sqlite_url)
    upgrade(engine)
    old = datetime.now(timezone.utc) - timedelta(seconds=400)
    with engine.begin() as conn:
        conn.execute(insert(m.JobLock).values(name="jobs", token="x" * 32, job="refresh", host="elsewhere", pid=1,
                                              process_started="", acquired_at=old, heartbeat_at=old))  # fmt: skip
    with pytest.raises(LockHeld, match="elsewhere"):
        DatabaseLock(engine, job="build", lease_s=600).acquire()
    lock = DatabaseLock(engine, job="build", lease_s=300)
    lock.acquire()
    with engine.connect() as conn:
        assert conn.execute(select(m.JobLock.host, m.JobLock.job)).one() == (lock.identity.host, "build")
    lock.release()


def test_runs_left_running_by_a_dead_process_are_marked_failed_when_the_next_job_starts(engine):
    writer = Writer(engine)
    started = datetime.now(timezone.utc) - timedelta(minutes=5)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with engine.begin() as conn:
        conn.execute(insert(m.FetchRun).values(source_id="worldbank", trigger="refresh", started_at=started,
                                               status="running", host=os.uname().nodename, pid=int(dead.stdout),
                                               heartbeat_at=started))  # fmt: skip
    alive = writer.start_run(run_source="oecd", trigger="refresh", started_at=started)  # this very process
    with job_lock(engine, job="build"):
        pass
    with engine.connect() as conn:
        status = dict(conn.execute(select(m.FetchRun.source_id, m.FetchRun.status)).all())
        error = conn.execute(select(m.FetchRun.error).where(m.FetchRun.source_id == "worldbank")).scalar_one()
    assert status == {"worldbank": "failed", "oecd": "running"}
    assert error.startswith("interrupted: process")
    assert alive


def test_job_lock_says_locked_with_exit_code_3(engine):
    with DatabaseLock(engine, job="refresh"):
        code = textwrap.dedent(f"""
            from aitrack.locking import JobLocked, job_lock
            from db.session import make_engine
            try:
                with job_lock(make_engine({engine.url.render_as_string(hide_password=False)!r}), job="build"):
                    print("acquired")
            except JobLocked as exc:
                print(exc.exit_code, exc)
        """)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("3 another job is running on this database"), done.stdout + done.stderr
    assert JobLocked.exit_code == 3
