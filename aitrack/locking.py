"""One refresh at a time: an exclusive, non-blocking file lock in the data directory."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from aitrack.errors import AitrackError


class RefreshLocked(AitrackError):
    """Another refresh holds the lock; cron should simply try again next time."""

    exit_code = 3


@contextmanager
def refresh_lock(data_dir: Path) -> Iterator[Path]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "refresh.lock"
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RefreshLocked(f"another refresh is running (lock {path} is held); exiting without doing anything") from None
    try:
        yield path
    finally:
        lock.release()
