"""One writing job at a time: a file lock in the data directory (this host) and a lock in the database (every host).

`job_lock` is what refresh, build, import, the main job and official forecasts take. It is re-entrant within a
process (`refresh --then-forecast` holds it once for everything). Once it holds the lock, it marks the fetch runs that
an earlier, interrupted process left `running` as failed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine

from aitrack.errors import AitrackError
from db.locks import DEFAULT_HEARTBEAT_S, DEFAULT_LEASE_S, DatabaseLock, LockHeld

LOCK_NAME = "jobs"
_POLICY = {"lease_s": DEFAULT_LEASE_S, "heartbeat_s": DEFAULT_HEARTBEAT_S}
_DEPTH: dict[str, int] = {}
_GUARD = threading.Lock()


class JobLocked(AitrackError):
    """Another refresh, build, import or official forecast holds the lock; cron should simply try again next time."""

    exit_code = 3


RefreshLocked = JobLocked  # the name of round 1


def configure(*, lease_s: float, heartbeat_s: float) -> None:
    """The lock policy of this process (from settings, once per command)."""
    _POLICY.update(lease_s=lease_s, heartbeat_s=heartbeat_s)


@contextmanager
def refresh_lock(data_dir: Path) -> Iterator[Path]:
    """The file lock of this host's data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "refresh.lock"
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise JobLocked(
            f"another refresh, build, import or forecast is running (lock {path} is held); exiting without doing anything"
        ) from None
    try:
        yield path
    finally:
        lock.release()


@contextmanager
def job_lock(engine: Engine, *, job: str, data_dir: Path | None = None, mark_interrupted: bool = True) -> Iterator[None]:
    """Hold the file lock (when `data_dir` is given) and the database lock for `job`; JobLocked (exit 3) when taken.

    `mark_interrupted=False` for schema commands, which must work on a database whose fetch_run table drifted."""
    key = engine.url.render_as_string(hide_password=False)
    with _GUARD:
        depth = _DEPTH.get(key, 0)
        _DEPTH[key] = depth + 1
    try:
        if depth:
            yield
            return
        with _maybe_file_lock(data_dir):
            try:
                lock = DatabaseLock(engine, LOCK_NAME, job=job, lease_s=_POLICY["lease_s"],
                                    heartbeat_s=_POLICY["heartbeat_s"])  # fmt: skip
                lock.__enter__()
            except LockHeld as exc:
                raise JobLocked(f"another job is running on this database: {exc}; exiting without doing anything") from None
            try:
                from db.write import Writer

                if mark_interrupted:
                    Writer(engine).mark_interrupted_runs(lease_s=_POLICY["lease_s"])
                yield
            finally:
                lock.__exit__(None, None, None)
    finally:
        with _GUARD:
            _DEPTH[key] -= 1
            if not _DEPTH[key]:
                del _DEPTH[key]


@contextmanager
def _maybe_file_lock(data_dir: Path | None) -> Iterator[None]:
    if data_dir is None:
        yield
        return
    with refresh_lock(data_dir):
        yield
