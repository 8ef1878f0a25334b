"""The API's one cache: values keyed by (data version, key), bounded in bytes, built once per key however many
requests miss at the same moment, and a front door that replays a stored response without entering the app.

What it holds, all under the same rules:
- ("response", path, sorted query items): the body sent for a URL (`serialize.CachedBody`); a repeated URL is answered
  from memory by `ReplayCached` before routing and validation, without a database read or a worker thread;
- ("relation", name, …): a whole view read once per data version (the latest observations of one indicator, the
  forecasts of a run, the evidence, the crossover presentation …), which every filter and page of it is cut from;
- ("known", name): the ids a 404 check needs.

The data version (`Reader.data_version`) is re-read at most once per `check_seconds`; a new version empties the cache.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import polars as pl
from starlette.types import ASGIApp, Receive, Scope, Send

from aitrack.api.serialize import CachedBody, prepare

T = TypeVar("T")
VERSION_CHECK_SECONDS = 1.0
DEFAULT_MAX_BYTES = 256 * 2**20
UNCACHED_PATHS = ("/api/health", "/openapi.json")


def size_of(value: Any) -> int:
    """Bytes an entry holds, roughly: exact for bodies, polars' estimate for frames, a walk for small containers."""
    if hasattr(value, "nbytes") and isinstance(getattr(value, "nbytes"), int):
        return value.nbytes
    if isinstance(value, pl.DataFrame):
        return int(value.estimated_size()) + 256
    if isinstance(value, (str, bytes)):
        return sys.getsizeof(value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(k) + size_of(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return sys.getsizeof(value) + sum(size_of(v) for v in value)
    return sys.getsizeof(value)


def response_key(path: str, query_string: bytes) -> tuple:
    """A URL's cache key: the path and its query items sorted (a repeated parameter stays repeated)."""
    items = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return ("response", path, tuple(sorted(items)))


class DataVersionCache:
    """Values per (data version, key): LRU within `max_bytes`, single-flight builds, emptied when the data change."""

    def __init__(self, read_version: Callable[[], str], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 check_seconds: float = VERSION_CHECK_SECONDS) -> None:  # fmt: skip
        self._read_version = read_version
        self._check_seconds = check_seconds
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._building: dict[tuple, threading.Lock] = {}
        self._version: str | None = None
        self._checked_at = -math.inf
        self._checking = threading.Lock()  # one version read at a time; meanwhile the others use the current one
        self.bytes_used = 0
        self.builds = 0  # how many values were built (tests count database reads with it)

    # ------------------------------------------------------------------ version
    def version(self) -> str:
        """The data version, re-read when due (this may touch the database: call it off the event loop).

        One caller reads it; callers arriving while that read runs use the version they had (at most one check
        interval old) instead of all querying the database at once.
        """
        now = time.monotonic()
        if self._version is None or now - self._checked_at >= self._check_seconds:
            if not self._checking.acquire(blocking=self._version is None):
                return self._version  # type: ignore[return-value]
            try:
                version = self._read_version()
                with self._lock:
                    if version != self._version:
                        self._entries.clear()
                        self._building.clear()
                        self.bytes_used = 0
                    self._version, self._checked_at = version, time.monotonic()
            finally:
                self._checking.release()
        return self._version  # type: ignore[return-value]

    def _fresh(self) -> bool:
        """Hits may be served: the version was checked within the interval, or a check is running right now."""
        if self._version is None:
            return False
        return time.monotonic() - self._checked_at < self._check_seconds or self._checking.locked()

    # ------------------------------------------------------------------ entries
    def peek(self, key: tuple) -> Any | None:
        """The value stored for `key`, or None (a miss, or a version check is due); never blocks on the database."""
        if not self._fresh():
            return None
        with self._lock:
            full = (self._version,) + key
            hit = self._entries.get(full)
            if hit is None:
                return None
            self._entries.move_to_end(full)
            return hit[0]

    def _store(self, full: tuple, value: Any) -> None:
        """Keep `value` unless its version is no longer current or it alone exceeds the bound; evict LRU to fit."""
        nbytes = size_of(value)
        if full[0] != self._version or nbytes > self.max_bytes:
            return
        old = self._entries.pop(full, None)
        if old is not None:
            self.bytes_used -= old[1]
        self._entries[full] = (value, nbytes)
        self.bytes_used += nbytes
        while self.bytes_used > self.max_bytes and self._entries:
            _, (_, evicted) = self._entries.popitem(last=False)
            self.bytes_used -= evicted

    def get_or_build(self, key: tuple, build: Callable[[], T]) -> T:
        """The value for `key` under the current data version, built once even when many ask at once.

        Concurrent misses for one key wait for the first builder instead of all querying the database (after a
        refresh every reader misses at the same moment). An exception from `build` is raised to every waiter in turn
        (each retries the build) and nothing is stored.
        """
        version = self.version()
        full = (version,) + key
        with self._lock:
            hit = self._entries.get(full)
            if hit is not None:
                self._entries.move_to_end(full)
                return hit[0]
            gate = self._building.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                hit = self._entries.get(full)
            if hit is not None:
                return hit[0]
            built = build()
            with self._lock:
                self.builds += 1
                self._store(full, built)
                self._building.pop(full, None)
        return built


class ReplayCached:
    """ASGI front door: a GET whose URL has a stored response is answered from the cache (304 on a matching
    If-None-Match, gzip when accepted) before routing; everything else goes to the app, whose routes store what they
    build under the same key (`response_key`)."""

    def __init__(self, app: ASGIApp, cache: DataVersionCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] in UNCACHED_PATHS:
            await self.app(scope, receive, send)
            return
        entry = self.cache.peek(response_key(scope["path"], scope["query_string"]))
        if not isinstance(entry, CachedBody):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        status, raw, body = prepare(entry, accept_encoding=headers.get(b"accept-encoding", b"").decode("latin-1"),
                                    if_none_match=headers.get(b"if-none-match", b"").decode("latin-1"))  # fmt: skip
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
