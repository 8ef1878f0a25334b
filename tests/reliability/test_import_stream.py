"""Issue 14, failures 2 and 5 for `aitrack import`: the file goes through `UserFetcher` as a stream (bounded memory;
the first bad row stops the reading), is kept by its hash on disk (not as a BLOB), and is stored with the indicators it
registers in one transaction, so a kill -9 in the middle leaves nothing behind.

The files are generated (tests/reliability/helpers.py: `write_large_import`); the numbers measured are the program's
own (peak resident memory from the kernel, via os.wait4).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time

import pytest

from .helpers import AITRACK, USER_FIXTURE, aitrack_env, rows, run_aitrack, scalar, wait_for, write_large_import

MB = 1024 * 1024


def _peak_rss(args: list[str], env: dict) -> tuple[int, float, int, str]:
    """(exit code, seconds, peak resident bytes, stderr) of one `aitrack` run."""
    started = time.monotonic()
    process = subprocess.Popen([AITRACK, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    err = process.stderr.read()
    return process.returncode, time.monotonic() - started, usage.ru_maxrss * 1024, err


@pytest.fixture
def fresh(tmp_path, sqlite_url):
    def make(name: str) -> dict:
        env = aitrack_env(f"sqlite:///{tmp_path / name / 'aitrack.db'}", tmp_path / name)
        assert run_aitrack(["db", "upgrade"], env).returncode == 0
        return env

    return make


def test_memory_stays_bounded_whatever_the_size_of_the_file(tmp_path, fresh):
    """The probe: ~26 bytes of memory per byte of file (100 MB → 2.5 GB). Here the peak grows by less than a quarter
    of the extra bytes between a 3 MB and a 30 MB file, and the 30 MB import needs less extra memory than the file's
    size over a 44-row import: a 1 GB file stays near the 30 MB file's peak plus a quarter of a gigabyte at most."""
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write_large_import(small, rows=20_000)
    n_big = write_large_import(big, rows=220_000)
    tiny_code, _, tiny_peak, err = _peak_rss(["import", str(USER_FIXTURE)], fresh("tiny"))
    assert tiny_code == 0, err
    small_code, _, small_peak, err = _peak_rss(["import", str(small)], fresh("small"))
    assert small_code == 0, err
    big_env = fresh("big")
    big_code, _, big_peak, err = _peak_rss(["import", str(big)], big_env)
    assert big_code == 0, err
    assert scalar(big_env["AITRACK_DATABASE_URL"], "SELECT count(*) FROM observation") == n_big
    extra_bytes = big.stat().st_size - small.stat().st_size
    assert big_peak - small_peak < 0.25 * extra_bytes, (tiny_peak // MB, small_peak // MB, big_peak // MB)
    assert big_peak - tiny_peak < big.stat().st_size, (tiny_peak // MB, big_peak // MB)


def test_a_bad_first_row_is_reported_without_reading_the_rest(tmp_path, fresh):
    """The probe: a bad first row was found only after the whole file was read (21 s and 6 GB for 1 GB)."""
    big = tmp_path / "bad_first.csv"
    write_large_import(big, rows=220_000, bad_row=1,
                       bad_line="generated_load_0000,ABW,1800,1_000,count,TOP500 June list,https://top500.org/,measured,,")
    env = fresh("bad")
    _, _, tiny_peak, _ = _peak_rss(["import", str(USER_FIXTURE)], fresh("tiny"))
    code, seconds, peak, err = _peak_rss(["import", str(big)], env)
    assert code == 2 and "row 1" in err and "ASCII digits" in err
    assert peak - tiny_peak < 8 * MB  # not the 30 MB file, nor any copy of it
    assert not list((tmp_path / "bad" / "raw").glob("*"))  # the partial copy is gone
    assert scalar(env["AITRACK_DATABASE_URL"], "SELECT count(*) FROM fetch_run") == 0


def test_the_raw_file_is_kept_on_disk_by_its_hash_not_as_a_blob(tmp_path, fresh):
    env = fresh("raw")
    done = run_aitrack(["import", str(USER_FIXTURE)], env)
    assert done.returncode == 0, done.stderr
    sha = hashlib.sha256(USER_FIXTURE.read_bytes()).hexdigest()
    [(stored_sha, content_is_null, path, size)] = rows(
        env["AITRACK_DATABASE_URL"], "SELECT sha256, content IS NULL, storage_path, size_bytes FROM raw_payload")
    assert (stored_sha, bool(content_is_null), path, size) == (sha, True, f"raw/{sha}.csv", USER_FIXTURE.stat().st_size)
    assert (tmp_path / "raw" / path).read_bytes() == USER_FIXTURE.read_bytes()


def test_kill_9_in_the_middle_of_an_import_leaves_nothing(tmp_path, database_url):
    """The probe: indicators were registered in a transaction of their own, so a kill -9 left 21 empty user
    indicators. Now the running fetch_run row is the only trace, and the next job marks it failed."""
    env = aitrack_env(database_url, tmp_path / "data")
    assert run_aitrack(["db", "upgrade"], env).returncode == 0
    big = tmp_path / "big.csv"
    write_large_import(big, rows=120_000)
    url = env["AITRACK_DATABASE_URL"]
    importer = subprocess.Popen([AITRACK, "import", str(big)], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        # Writing has begun: the run is recorded as running (or, before the fix, indicators were registered).
        wait_for(lambda: scalar(url, "SELECT count(*) FROM fetch_run WHERE status = 'running'")
                 or scalar(url, "SELECT count(*) FROM indicator WHERE origin = 'user'"), timeout=60,
                 what="the import to start writing")  # fmt: skip
        time.sleep(0.5)
    finally:
        importer.send_signal(signal.SIGKILL)
        importer.wait(timeout=30)
    assert importer.returncode == -signal.SIGKILL
    counts = {t: scalar(url, f"SELECT count(*) FROM {t}") for t in ("observation", "indicator", "raw_payload")}
    assert counts == {"observation": 0, "indicator": 0, "raw_payload": 0}
    check = run_aitrack(["status", "--check"], env)
    assert check.returncode == 1 and "user: the run started" in check.stderr and "was interrupted" in check.stderr
    # The next job (here an import of a small file) marks the interrupted run failed.
    assert run_aitrack(["import", str(USER_FIXTURE)], env).returncode == 0
    runs = rows(url, "SELECT status, error FROM fetch_run ORDER BY id")
    assert runs[0][0] == "failed" and runs[0][1].startswith("interrupted: process")
    assert runs[1][0] == "ok"
