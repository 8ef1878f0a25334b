"""The resilient transport and the one client factory: credentials on the source's own origin only, rate limit,
retries with backoff and Retry-After, deadlines, body limits, secret scrubbing, conditional cache."""

from __future__ import annotations

import logging
import random
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx

from contracts.redaction import Scrubber
from fetchers.errors import SourceUnavailableError

from fetchers.http.cache import ConditionalCache
from fetchers.http.config import (
    RETRY_STATUSES,
    SECRET_PARAM_NAMES,
    DeadlineExceededError,
    HttpConfig,
    PayloadTooLargeError,
    backoff_delay,
    parse_retry_after,
    redact_url,
)
from fetchers.http.limits import (
    _ACTIVE,
    _SHARED_LIMITER,
    Deadline,
    HostRateLimiter,
    _active_deadline,
    _inflate,
    deadline_transport,
)

log = logging.getLogger("fetchers.http")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


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
