"""Database-wide job locks: an engine and a lock name in, exclusive ownership for the duration of a job out, so that two
hosts (or two data directories on one host) never refresh, build, import or publish forecasts into one database at
once.

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a dedicated connection; the server releases it when
  the process dies, however it dies. The key is derived from the schema and the lock name, so two installations in
  different schemas of one database do not block each other. A `job_lock` row says who holds it.
- SQLite: the `job_lock` row is the lock, taken by one insert (the primary key admits a single holder). A holder on this
  host whose process is gone, or a holder elsewhere whose heartbeat is older than the lease, is replaced.

A heartbeat thread keeps the lock row and this process's `running` fetch runs fresh while the lock is held. Locks are
re-entrant within a process: `refresh --then-forecast` holds the lock once for its fetch, build and forecast.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from db import models as m

log = logging.getLogger("aitrack.locks")

DEFAULT_LEASE_S = 300.0
DEFAULT_HEARTBEAT_S = 30.0


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


# -- which process ---------------------------------------------------------------------------------------------------


def _process_started(pid: int) -> str:
    """A token that changes when a pid is reused: boot id and start time from /proc (empty where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            boot = fh.read().strip()[:8]
        return f"{boot}:{fields[19]}"
    except (OSError, IndexError):
        return ""


@dataclass(frozen=True)
class ProcessIdentity:
    host: str
    pid: int
    started: str

    @property
    def label(self) -> str:
        return f"host {self.host} pid {self.pid}"


@lru_cache(maxsize=8)
def _identity_for(pid: int) -> ProcessIdentity:
    return ProcessIdentity(socket.gethostname()[:255], pid, _process_started(pid))


def this_process() -> ProcessIdentity:
    return _identity_for(os.getpid())


def process_alive(host: str | None, pid: int | None, started: str | None) -> bool | None:
    """True or False for a process on this host; None when it runs elsewhere (only its heartbeat can tell)."""
    me = this_process()
    if host != me.host or pid is None:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    return not (started and _process_started(pid) and _process_started(pid) != started)


def holder_gone(host: str | None, pid: int | None, started: str | None, heartbeat: datetime | None,
                lease_s: float, now: datetime | None = None) -> bool:  # fmt: skip
    """A holder (of a lock or a running fetch run) that can no longer be working: its process is gone, or it runs on
    another host and has not beaten for longer than the lease."""
    alive = process_alive(host, pid, started)
    if alive is not None:
        return not alive
    beat = _utc(heartbeat)
    return beat is None or ((now or _utcnow()) - beat).total_seconds() > lease_s


# -- the lock --------------------------------------------------------------------------------------------------------


class LockHeld(Exception):
    """Another process holds the lock; `holder` describes it when known."""

    def __init__(self, name: str, holder: dict[str, Any] | None) -> None:
        self.name = name
        self.holder = holder
        if holder:
            since = _utc(holder["acquired_at"])
            beat = _utc(holder["heartbeat_at"])
            age = f", last heartbeat {(_utcnow() - beat).total_seconds():.0f} s ago" if beat else ""
            who = f"{holder['job']} on host {holder['host']} pid {holder['pid']} since {since:%Y-%m-%d %H:%M:%S} UTC{age}"
        else:
            who = "another process"
        super().__init__(f"the database lock {name!r} is held by {who}")


def _pg_key(schema: str, name: str) -> int:
    digest = hashlib.sha256(f"aitrack:{schema}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _engine_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


_HELD: dict[tuple[str, str], "DatabaseLock"] = {}
_HELD_GUARD = threading.Lock()


class DatabaseLock:
    """`with DatabaseLock(engine, job="refresh"):` — exclusive across processes and hosts; LockHeld when taken."""

    def __init__(self, engine: Engine, name: str = "jobs", *, job: str = "job", lease_s: float = DEFAULT_LEASE_S,
                 heartbeat_s: float = DEFAULT_HEARTBEAT_S) -> None:  # fmt: skip
        self.engine = engine
        self.name = name
        self.job = job
        self.lease_s = lease_s
        self.heartbeat_s = heartbeat_s
        self.token = uuid.uuid4().hex
        self.identity = this_process()
        self._depth = 0
        self._connection = None
        self._pg_key: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- re-entrant entry ----------------------------------------------------------------------------------------
    def __enter__(self) -> "DatabaseLock":
        key = (_engine_key(self.engine), self.name)
        with _HELD_GUARD:
            outer = _HELD.get(key)
            if outer is not None and outer.identity.pid == os.getpid():
                outer._depth += 1
                self._outer = outer
                return outer
            self._outer = None
        self.acquire()
        with _HELD_GUARD:
            _HELD[key] = self
        return self

    def __exit__(self, *exc) -> None:
        if self._outer is not None:
            self._outer._depth -= 1
            return
        with _HELD_GUARD:
            _HELD.pop((_engine_key(self.engine), self.name), None)
        self.release()

    # -- acquire / release ---------------------------------------------------------------------------------------
    def _row_values(self, now: datetime) -> dict[str, Any]:
        return {"name": self.name, "token": self.token, "job": self.job, "host": self.identity.host,
                "pid": self.identity.pid, "process_started": self.identity.started, "acquired_at": now,
                "heartbeat_at": now}  # fmt: skip

    def holder(self) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(m.JobLock).where(m.JobLock.name == self.name)).mappings().first()
        return dict(row) if row else None

    def acquire(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self._acquire_postgres()
        else:
            self._acquire_row()
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat_forever, name=f"aitrack-lock-{self.name}", daemon=True)
        self._thread.start()

    def _acquire_postgres(self) -> None:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            self._pg_key = _pg_key(schema, self.name)
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._pg_key}).scalar_one()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            raise LockHeld(self.name, self.holder())
        self._connection = conn
        now = _utcnow()
        with self.engine.begin() as tx:
            tx.execute(delete(m.JobLock).where(m.JobLock.name == self.name))
            tx.execute(insert(m.JobLock).values(**self._row_values(now)))

    def _acquire_row(self) -> None:
        now = _utcnow()
        try:
            with self.engine.begin() as conn:
                row = conn.execute(select(m.JobLock).where(m.JobLock.name == self.name)).mappings().first()
                if row is not None:
                    if not holder_gone(row["host"], row["pid"], row["process_started"], row["heartbeat_at"],
                                       self.lease_s, now):  # fmt: skip
                        raise LockHeld(self.name, dict(row))
                    log.warning("replacing the stale lock %r of %s on host %s pid %s", self.name, row["job"],
                                row["host"], row["pid"])  # fmt: skip
                    conn.execute(delete(m.JobLock).where(m.JobLock.name == self.name,
                                                         m.JobLock.token == row["token"]))  # fmt: skip
                conn.execute(insert(m.JobLock).values(**self._row_values(now)))
        except (IntegrityError, OperationalError):
            # Another process inserted the row (or held SQLite's write lock) between our read and our insert.
            raise LockHeld(self.name, self.holder()) from None

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 5)
            self._thread = None
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(m.JobLock).where(m.JobLock.name == self.name, m.JobLock.token == self.token))
        except DBAPIError as exc:  # the lock dies with the process anyway; say so and go on
            log.warning("could not delete the lock row %r: %s", self.name, str(exc).splitlines()[0])
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._pg_key})
            except DBAPIError:
                pass
            finally:
                self._connection.close()
                self._connection = None

    # -- heartbeat -----------------------------------------------------------------------------------------------
    def beat(self) -> None:
        """Refresh the lock row and this process's running fetch runs (called by the heartbeat thread)."""
        now = _utcnow()
        with self.engine.begin() as conn:
            kept = conn.execute(
                update(m.JobLock).where(m.JobLock.name == self.name, m.JobLock.token == self.token)
                .values(heartbeat_at=now)
            ).rowcount  # fmt: skip
            conn.execute(
                update(m.FetchRun).where(m.FetchRun.status == "running", m.FetchRun.host == self.identity.host,
                                         m.FetchRun.pid == self.identity.pid)
                .values(heartbeat_at=now)
            )  # fmt: skip
        if self._connection is not None:
            self._connection.execute(text("SELECT 1"))
        if not kept:
            log.error("the database lock %r was taken over by another process", self.name)

    def _beat_forever(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            try:
                self.beat()
            except OperationalError as exc:
                # SQLite: this job's own long write transaction holds the file; the next beat will pass. (Another host
                # only takes the lock over after a whole lease without beats.)
                log.info("lock heartbeat skipped: %s", str(exc).splitlines()[0])
            except Exception as exc:  # noqa: BLE001 - a missed beat is logged, the job goes on
                log.warning("lock heartbeat failed: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def held_locks() -> list[str]:
    """Names of the locks this process holds (for tests and diagnostics)."""
    with _HELD_GUARD:
        return [name for (_, name) in _HELD]
