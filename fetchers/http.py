"""HTTP configuration in, a ready httpx client out: timeouts and a total deadline per request (and per refresh),
retries with backoff, Retry-After, per-host rate limit, a maximum body size, key injection on the source's own origin
only, configured secrets scrubbed from every body, conditional-request cache."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from contracts.redaction import Scrubber
from fetchers.errors import SourceUnavailableError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Query parameters that carry credentials; stripped from every URL we log, raise or store.
SECRET_PARAM_NAMES = frozenset({"api_key", "apikey", "key", "token", "access_token"})
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
# How often a blocked socket read wakes up to look at its deadline (and at a cancelled refresh).
DEADLINE_POLL_S = 0.5


class PayloadTooLargeError(SourceUnavailableError):
    """A response body larger than the source's maximum (`HttpPolicy.max_body_bytes`); nothing of it is kept."""


class DeadlineExceededError(SourceUnavailableError):
    """A request (all its attempts) or the whole refresh ran past its total deadline."""


def _package_version() -> str:
    try:
        return metadata.version("uschina-ai-tracker")
    except metadata.PackageNotFoundError:
        return "0.0.0"


class HttpPolicy(BaseModel):
    """How one source is to be asked: where its key and contact address go, how fast, how long a body stays fresh.

    Declared once per source in `fetchers.registry`; the transport applies it so fetchers never see a key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_param: str | None = None  # query parameter that carries the API key
    contact_param: str | None = None  # query parameter for the contact e-mail (OpenAlex's polite pool)
    min_interval_s: float = 0.2  # seconds between two requests to the source's host
    cache_max_age_s: float | None = None  # keep bodies on disk and reuse them this long; None = no cache
    max_body_bytes: int | None = None  # largest body accepted (decoded); None = HttpConfig.max_body_bytes


class HttpConfig(BaseModel):
    """Everything the HTTP layer needs, passed in (never global), usually built from aitrack settings and the registry."""

    model_config = ConfigDict(extra="forbid")

    contact_email: str = ""
    version: str = Field(default_factory=_package_version)
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_retries: int = 4
    backoff_base: float = 1.0  # seconds; tests set it near zero
    backoff_cap: float = 60.0
    retry_after_cap: float = 300.0  # a server asking for longer than this is treated as down
    # Total time one request may take, every attempt, backoff and byte of the body included: a server that drips
    # one byte a second never trips a read timeout, but it trips this.
    request_deadline_s: float = 600.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES  # per source: HttpPolicy.max_body_bytes
    base_urls: dict[str, str] = Field(default_factory=dict)  # source id -> base URL (mirrors, proxies, tests)
    api_keys: dict[str, SecretStr] = Field(default_factory=dict)  # source id -> key; injected by the transport
    policies: dict[str, HttpPolicy] = Field(default_factory=dict)  # source id -> policy (fetchers.registry)
    cache_dir: Path | None = None
    extra_secrets: tuple[str, ...] = ()  # other configured secrets to scrub from bodies (database password…)

    @property
    def user_agent(self) -> str:
        contact = f" (+{self.contact_email})" if self.contact_email else ""
        return f"aitrack/{self.version}{contact}"

    def policy(self, source_id: str) -> HttpPolicy:
        return self.policies.get(source_id) or HttpPolicy()

    def secrets(self) -> list[str]:
        return [key.get_secret_value() for key in self.api_keys.values() if key.get_secret_value()] + list(
            self.extra_secrets
        )

    def body_limit(self, source_id: str) -> int:
        return self.policy(source_id).max_body_bytes or self.max_body_bytes


def base_urls_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`AITRACK_<SOURCE>_BASE_URL` variables → {source: url} (DESIGN §5)."""
    env = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name, value in env.items():
        if name.startswith("AITRACK_") and name.endswith("_BASE_URL") and value:
            source = name[len("AITRACK_") : -len("_BASE_URL")].lower()
            if source and source != "database":
                found[source] = value.rstrip("/")
    return found


def redact_url(url: str | httpx.URL, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """The URL with credential parameters removed and any known secret masked: safe to log, raise or store."""
    parts = urlsplit(str(url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in SECRET_PARAM_NAMES]
    text = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base·2^attempt), so clients spread out."""
    ceiling = min(cap, base * (2**attempt))
    return ceiling * (0.5 + 0.5 * rng())


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


class ConditionalCache:
    """Response bodies on disk keyed by the (key-free) URL, with their ETag / Last-Modified for revalidation."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _paths(self, url: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.directory / f"{digest}.body", self.directory / f"{digest}.json"

    def load(self, url: str) -> tuple[bytes, dict] | None:
        body_path, meta_path = self._paths(url)
        if not (body_path.exists() and meta_path.exists()):
            return None
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return body_path.read_bytes(), meta

    def store(self, url: str, body: bytes, headers: httpx.Headers, stored_at: float) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        body_path, meta_path = self._paths(url)
        meta = {
            "url": url,
            "etag": headers.get("etag"),
            "last_modified": headers.get("last-modified"),
            "content_type": headers.get("content-type"),
            "stored_at": stored_at,
        }
        # Write the body first: a crash between the two writes leaves no metadata, hence no false cache hit.
        body_path.write_bytes(body)
        meta_path.write_text(json.dumps(meta), encoding="utf-8")

    def touch(self, url: str, stored_at: float) -> None:
        _, meta_path = self._paths(url)
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["stored_at"] = stored_at
        meta_path.write_text(json.dumps(meta), encoding="utf-8")


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


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


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


class ResilientTransport(httpx.BaseTransport):
    """Wraps a transport: adds credentials (on the source's own origin only), waits for the host's slot, retries
    transient failures within the request's total deadline, reads the body up to the source's size limit, scrubs
    configured secrets from it, revalidates cached bodies."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        source_id: str,
        config: HttpConfig,
        *,
        base_url: str | None = None,
        deadline: Deadline | None = None,
        limiter: HostRateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.source_id = source_id
        self.config = config
        self.origin = _origin(httpx.URL(base_url)) if base_url else None
        self.run_deadline = deadline
        self.limiter = limiter or _SHARED_LIMITER
        self.sleep = sleep
        self.wall_clock = wall_clock
        self.rng = rng
        self.policy = config.policy(source_id)
        self.body_limit = config.body_limit(source_id)
        use_cache = config.cache_dir is not None and self.policy.cache_max_age_s is not None
        self.cache = ConditionalCache(Path(config.cache_dir) / source_id) if use_cache else None
        self._secrets = config.secrets()
        self.scrubber = Scrubber(self._secrets)

    # -- credentials ---------------------------------------------------------------------------------------------
    def _own_origin(self, url: httpx.URL) -> bool:
        return self.origin is None or _origin(url) == self.origin

    def _with_credentials(self, request: httpx.Request) -> httpx.Request:
        if not self._own_origin(request.url):
            return self._without_credentials(request)
        extra: dict[str, str] = {}
        key = self.config.api_keys.get(self.source_id)
        key_param = self.policy.key_param
        if key is not None and key_param and key.get_secret_value():
            extra[key_param] = key.get_secret_value()
        contact_param = self.policy.contact_param
        if contact_param and self.config.contact_email:
            extra[contact_param] = self.config.contact_email
        if not extra:
            return request
        url = request.url.copy_merge_params(extra)
        return httpx.Request(request.method, url, headers=request.headers, stream=request.stream, extensions=request.extensions)

    def _without_credentials(self, request: httpx.Request) -> httpx.Request:
        """A request to another origin (a redirect, a link in a body): no key, no secret, no Authorization header."""
        names = SECRET_PARAM_NAMES | ({self.policy.key_param.lower()} if self.policy.key_param else set())
        params = [(k, v) for k, v in request.url.params.multi_items()
                  if k.lower() not in names and not self.scrubber.contains(v)]  # fmt: skip
        headers = [(k, v) for k, v in request.headers.multi_items()
                   if k.lower() not in ("authorization", "proxy-authorization") and not self.scrubber.contains(v)]
        if len(params) == len(request.url.params.multi_items()) and len(headers) == len(request.headers.multi_items()):
            return request
        log.warning("%s: credentials withheld from a request to another host (%s)", self.source_id, request.url.host)
        url = request.url.copy_with(query=urlencode(params).encode() or None)
        return httpx.Request(request.method, url, headers=headers, stream=request.stream, extensions=request.extensions)

    # -- main loop -----------------------------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        base = self.run_deadline or Deadline(None, what="refresh deadline")
        deadline = base.child(self.config.request_deadline_s, "request deadline")
        previous = _active_deadline()
        _ACTIVE.deadline = deadline
        try:
            return self._handle(request, deadline)
        finally:
            _ACTIVE.deadline = previous

    def _give_up(self, public_url: str, deadline: Deadline) -> DeadlineExceededError:
        return DeadlineExceededError(f"{self.source_id}: {public_url}: {deadline.reason()}")

    def _handle(self, request: httpx.Request, deadline: Deadline) -> httpx.Response:
        public_url = redact_url(request.url, self._secrets)
        cached = self.cache.load(public_url) if (self.cache and request.method == "GET") else None
        if cached is not None:
            body, meta = cached
            max_age = self.policy.cache_max_age_s or 0.0
            if self.wall_clock() - float(meta.get("stored_at", 0.0)) < max_age:
                log.info("cache hit (fresh) %s", public_url)
                return self._from_cache(request, body, meta, "fresh")
            if meta.get("etag"):
                request.headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                request.headers["If-Modified-Since"] = meta["last_modified"]

        outgoing = self._with_credentials(request)
        host = request.url.host
        interval = self.policy.min_interval_s
        last_problem = "no attempt made"
        for attempt in range(self.config.max_retries + 1):
            if deadline.expired:
                raise self._give_up(public_url, deadline)
            self.limiter.wait(host, interval)
            try:
                response = self.inner.handle_request(outgoing)
                if response.status_code in RETRY_STATUSES:
                    response.close()
                else:
                    response = self._read_bounded(response, request, public_url, deadline)
            except httpx.TransportError as exc:
                if deadline.expired:
                    raise self._give_up(public_url, deadline) from None
                last_problem = f"{type(exc).__name__}"
                log.warning("GET %s failed (%s), attempt %d", public_url, last_problem, attempt + 1)
                if attempt >= self.config.max_retries:
                    break
                self._pause(backoff_delay(attempt, self.config.backoff_base, self.config.backoff_cap, self.rng),
                            public_url, deadline)  # fmt: skip
                continue

            if response.status_code == 304 and cached is not None:
                self.cache.touch(public_url, self.wall_clock())
                log.info("cache revalidated (304) %s", public_url)
                return self._from_cache(request, cached[0], cached[1], "revalidated")

            if response.status_code not in RETRY_STATUSES:
                log.info("GET %s -> %d", public_url, response.status_code)
                if self.cache is not None and response.status_code == 200 and request.method == "GET":
                    self.cache.store(public_url, response.content, response.headers, self.wall_clock())
                return response

            last_problem = f"HTTP {response.status_code}"
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            log.warning("GET %s -> %d, attempt %d", public_url, response.status_code, attempt + 1)
            if attempt >= self.config.max_retries:
                break
            if retry_after is not None:
                if retry_after > self.config.retry_after_cap:
                    raise SourceUnavailableError(
                        f"{self.source_id}: {public_url} asked to retry after {retry_after:.0f}s "
                        f"(more than the {self.config.retry_after_cap:.0f}s cap)"
                    )
                delay = retry_after
            else:
                delay = backoff_delay(attempt, self.config.backoff_base, self.config.backoff_cap, self.rng)
            self._pause(delay, public_url, deadline)

        raise SourceUnavailableError(
            f"{self.source_id}: {public_url} unavailable after {self.config.max_retries + 1} attempts ({last_problem})"
        )

    def _pause(self, delay: float, public_url: str, deadline: Deadline) -> None:
        if delay >= deadline.remaining():
            raise self._give_up(public_url, deadline)
        self.sleep(delay)

    def _read_bounded(self, response: httpx.Response, request: httpx.Request, public_url: str,
                      deadline: Deadline) -> httpx.Response:  # fmt: skip
        """The whole body, decoded, at most `body_limit` bytes and within the deadline; secrets scrubbed; as a new
        response with the body in memory (nothing downstream touches the network again)."""
        limit = self.body_limit
        too_large = f"{self.source_id}: {public_url}: body larger than the {limit}-byte limit for this source"
        try:
            declared = int(response.headers.get("content-length", "0") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            response.close()
            raise PayloadTooLargeError(too_large)
        raw = bytearray()
        try:
            for chunk in response.stream:
                raw += chunk
                if len(raw) > limit:
                    raise PayloadTooLargeError(too_large)
                if deadline.expired:
                    raise self._give_up(public_url, deadline)
        finally:
            response.close()
        encoding = response.headers.get("content-encoding", "identity").lower().strip()
        body = bytes(raw)
        if encoding in ("gzip", "deflate"):
            try:
                body = _inflate(body, encoding, limit)
            except PayloadTooLargeError:
                raise PayloadTooLargeError(too_large) from None
            except zlib.error as exc:
                raise httpx.DecodingError(f"{encoding} body does not decode: {exc}") from exc
        elif encoding not in ("identity", ""):
            decoded = httpx.Response(response.status_code, headers=response.headers, content=body)
            body = decoded.read()
            if len(body) > limit:
                raise PayloadTooLargeError(too_large)
        body = self.scrubber.bytes(body)
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]  # fmt: skip
        extensions = {k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")}
        return httpx.Response(response.status_code, headers=headers, content=body, request=request,
                              extensions=extensions)  # fmt: skip

    def _from_cache(self, request: httpx.Request, body: bytes, meta: dict, how: str) -> httpx.Response:
        headers = {"x-aitrack-cache": how}
        if meta.get("content_type"):
            headers["content-type"] = meta["content_type"]
        if meta.get("etag"):
            headers["etag"] = meta["etag"]
        if meta.get("last_modified"):
            headers["last-modified"] = meta["last_modified"]
        return httpx.Response(200, headers=headers, content=body, request=request)

    def close(self) -> None:
        self.inner.close()


def build_client(
    source_id: str,
    default_base_url: str,
    config: HttpConfig,
    *,
    transport: httpx.BaseTransport | None = None,
    limiter: HostRateLimiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
) -> httpx.Client:
    """The one place an httpx client is built. `transport` lets tests plug in httpx.MockTransport; `deadline` is the
    refresh's (every request also has its own, `HttpConfig.request_deadline_s`)."""
    base_url = config.base_urls.get(source_id) or default_base_url
    inner = transport or deadline_transport()
    wrapped = ResilientTransport(inner, source_id, config, base_url=base_url or None, deadline=deadline,
                                 limiter=limiter, sleep=sleep)  # fmt: skip
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    return httpx.Client(
        base_url=base_url,
        transport=wrapped,
        timeout=timeout,
        # Only encodings the transport decodes with a bound on the output.
        headers={"User-Agent": config.user_agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=True,
        max_redirects=5,
    )
