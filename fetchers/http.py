"""HTTP configuration in, a ready httpx client out: timeouts, retries with backoff, Retry-After, per-host rate limit, key injection, conditional-request cache."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fetchers.errors import SourceUnavailableError

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Query parameters that carry credentials; stripped from every URL we log, raise or store.
SECRET_PARAM_NAMES = frozenset({"api_key", "apikey", "key", "token", "access_token"})


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
    base_urls: dict[str, str] = Field(default_factory=dict)  # source id -> base URL (mirrors, proxies, tests)
    api_keys: dict[str, SecretStr] = Field(default_factory=dict)  # source id -> key; injected by the transport
    policies: dict[str, HttpPolicy] = Field(default_factory=dict)  # source id -> policy (fetchers.registry)
    cache_dir: Path | None = None

    @property
    def user_agent(self) -> str:
        contact = f" (+{self.contact_email})" if self.contact_email else ""
        return f"aitrack/{self.version}{contact}"

    def policy(self, source_id: str) -> HttpPolicy:
        return self.policies.get(source_id) or HttpPolicy()

    def secrets(self) -> list[str]:
        return [key.get_secret_value() for key in self.api_keys.values() if key.get_secret_value()]


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


class ResilientTransport(httpx.BaseTransport):
    """Wraps a transport: adds credentials, waits for the host's slot, retries transient failures, revalidates cached bodies."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        source_id: str,
        config: HttpConfig,
        *,
        limiter: HostRateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.inner = inner
        self.source_id = source_id
        self.config = config
        self.limiter = limiter or _SHARED_LIMITER
        self.sleep = sleep
        self.wall_clock = wall_clock
        self.rng = rng
        self.policy = config.policy(source_id)
        use_cache = config.cache_dir is not None and self.policy.cache_max_age_s is not None
        self.cache = ConditionalCache(Path(config.cache_dir) / source_id) if use_cache else None
        self._secrets = config.secrets()

    # -- credentials ---------------------------------------------------------------------------
    def _with_credentials(self, request: httpx.Request) -> httpx.Request:
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

    # -- main loop -----------------------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
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
            self.limiter.wait(host, interval)
            try:
                response = self.inner.handle_request(outgoing)
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}"
                log.warning("GET %s failed (%s), attempt %d", public_url, last_problem, attempt + 1)
                if attempt >= self.config.max_retries:
                    break
                self.sleep(backoff_delay(attempt, self.config.backoff_base, self.config.backoff_cap, self.rng))
                continue

            if response.status_code == 304 and cached is not None:
                response.close()
                self.cache.touch(public_url, self.wall_clock())
                log.info("cache revalidated (304) %s", public_url)
                return self._from_cache(request, cached[0], cached[1], "revalidated")

            if response.status_code not in RETRY_STATUSES:
                log.info("GET %s -> %d", public_url, response.status_code)
                if self.cache is not None and response.status_code == 200 and request.method == "GET":
                    body = response.read()
                    self.cache.store(public_url, body, response.headers, self.wall_clock())
                return response

            last_problem = f"HTTP {response.status_code}"
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            response.close()
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
            self.sleep(delay)

        raise SourceUnavailableError(
            f"{self.source_id}: {public_url} unavailable after {self.config.max_retries + 1} attempts ({last_problem})"
        )

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
) -> httpx.Client:
    """The one place an httpx client is built. `transport` lets tests plug in httpx.MockTransport."""
    base_url = config.base_urls.get(source_id) or default_base_url
    inner = transport or httpx.HTTPTransport()
    wrapped = ResilientTransport(inner, source_id, config, limiter=limiter, sleep=sleep)
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    return httpx.Client(
        base_url=base_url,
        transport=wrapped,
        timeout=timeout,
        headers={"User-Agent": config.user_agent},
        follow_redirects=True,
    )
