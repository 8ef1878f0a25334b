"""Bounds on what a source may cost: the per-host rate limit, total deadlines enforced on every socket read and
write (a wrapped httpcore network backend), and body decoding with a bound on the output."""

from __future__ import annotations

import logging
import threading
import time
import zlib
from collections.abc import Callable

import httpcore
import httpx


from fetchers.http.config import DEADLINE_POLL_S, PayloadTooLargeError

log = logging.getLogger("fetchers.http")

class HostRateLimiter:
    """Keeps at least `interval` seconds between the starts of two requests to one host, across clients and threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}

    def wait(self, host: str, interval: float) -> float:
        if interval <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot.get(host, now))
            self._next_slot[host] = slot + interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay


_SHARED_LIMITER = HostRateLimiter()


class Deadline:
    """A point in time (monotonic) after which work must stop; `cancel()` makes it pass now (SIGTERM, Ctrl-C).

    A request's deadline is its own limit or its refresh's, whichever comes first (`child`).
    """

    def __init__(self, seconds: float | None = None, *, parent: "Deadline | None" = None,
                 clock: Callable[[], float] = time.monotonic, what: str = "deadline") -> None:  # fmt: skip
        self.clock = clock
        self.parent = parent
        self.what = what
        self.seconds = seconds
        self.at = None if seconds is None else clock() + seconds
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set() or (self.parent is not None and self.parent.cancelled)

    def remaining(self) -> float:
        if self.cancelled:
            return 0.0
        own = float("inf") if self.at is None else self.at - self.clock()
        theirs = self.parent.remaining() if self.parent is not None else float("inf")
        return max(0.0, min(own, theirs))

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    def reason(self) -> str:
        """Which limit passed: this one, or its parent's (the refresh's)."""
        if self.parent is not None and self.parent.expired:
            return self.parent.reason()
        if self.cancelled:
            return f"{self.what} cancelled"
        return f"{self.what} of {self.seconds:g} s passed" if self.seconds is not None else self.what

    def child(self, seconds: float | None, what: str) -> "Deadline":
        return Deadline(seconds, parent=self, clock=self.clock, what=what)


_ACTIVE = threading.local()


def _active_deadline() -> Deadline | None:
    return getattr(_ACTIVE, "deadline", None)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose reads and writes stop at the active request's deadline (checked every poll interval)."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def _bounded(self, operation, timeout: float | None, timeout_error):
        deadline = _active_deadline()
        if deadline is None:
            return operation(timeout)
        waited = 0.0
        while True:
            remaining = deadline.remaining()
            if remaining <= 0.0:
                raise timeout_error(deadline.reason())
            step = min(remaining, DEADLINE_POLL_S)
            if timeout is not None:
                step = min(step, max(timeout - waited, 0.0))
            try:
                return operation(step)
            except timeout_error:
                waited += step
                if timeout is not None and waited >= timeout:
                    raise

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._bounded(lambda t: self._inner.read(max_bytes, t), timeout, httpcore.ReadTimeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        return self._bounded(lambda t: self._inner.write(buffer, t), timeout, httpcore.WriteTimeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        deadline = _active_deadline()
        if deadline is not None:
            timeout = deadline.remaining() if timeout is None else min(timeout, deadline.remaining())
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        deadline = _active_deadline()
        if deadline is not None:
            if deadline.expired:
                raise httpcore.ConnectTimeout(deadline.reason())
            timeout = deadline.remaining() if timeout is None else min(timeout, deadline.remaining())
        stream = self._inner.connect_tcp(host, port, timeout=timeout, local_address=local_address,
                                         socket_options=socket_options)  # fmt: skip
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout=timeout, socket_options=socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(**kwargs) -> httpx.HTTPTransport:
    """httpx's transport with every socket operation bounded by the active request's deadline.

    httpx does not take a network backend as a parameter; its connection pool does, so the pool's backend is wrapped
    (httpx and httpcore are pinned; tests/fetchers/test_http_limits.py fails if this stops working).
    """
    transport = httpx.HTTPTransport(**kwargs)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:  # pragma: no cover - a changed httpx/httpcore: bodies are still bounded between chunks
        log.warning("httpx transport without a network backend to wrap: request deadlines apply between chunks only")
        return transport
    pool._network_backend = _DeadlineBackend(backend)
    return transport


def _inflate(raw: bytes, encoding: str, limit: int) -> bytes:
    """gzip / deflate bodies decoded with a bound on the output (a small compressed body may expand enormously)."""

    def run(wbits: int) -> bytes:
        out = bytearray()
        data = raw
        while data:
            decoder = zlib.decompressobj(wbits)
            chunk = data
            while chunk:
                out += decoder.decompress(chunk, limit + 1 - len(out))
                if len(out) > limit:
                    raise PayloadTooLargeError(f"decoded body larger than {limit} bytes")
                chunk = decoder.unconsumed_tail
            out += decoder.flush()
            data = decoder.unused_data if decoder.eof else b""  # a multi-member gzip body
        if len(out) > limit:
            raise PayloadTooLargeError(f"decoded body larger than {limit} bytes")
        return bytes(out)

    if encoding == "gzip":
        return run(16 + zlib.MAX_WBITS)
    try:
        return run(zlib.MAX_WBITS)
    except zlib.error:
        return run(-zlib.MAX_WBITS)  # raw deflate, as some servers send it


