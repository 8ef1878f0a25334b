"""HTTP configuration in, a ready httpx client out: timeouts and a total deadline per request (and per refresh),
retries with backoff, Retry-After, per-host rate limit, a maximum body size, key injection on the source's own origin
only, configured secrets scrubbed from every body, conditional-request cache.

`config` (policy and settings, redaction, retry timing), `limits` (rate limit, deadlines, bounded decoding), `cache`
(conditional cache on disk), `transport` (the resilient transport and `build_client`, the one client factory).
"""

from fetchers.http.cache import ConditionalCache
from fetchers.http.config import (
    DEFAULT_MAX_BODY_BYTES,
    RETRY_STATUSES,
    SECRET_PARAM_NAMES,
    DeadlineExceededError,
    HttpConfig,
    HttpPolicy,
    PayloadTooLargeError,
    backoff_delay,
    base_urls_from_env,
    parse_retry_after,
    redact_url,
)
from fetchers.http.limits import Deadline, HostRateLimiter, deadline_transport
from fetchers.http.transport import ResilientTransport, build_client

__all__ = [
    "ConditionalCache", "DEFAULT_MAX_BODY_BYTES", "Deadline", "DeadlineExceededError", "HostRateLimiter", "HttpConfig",
    "HttpPolicy", "PayloadTooLargeError", "RETRY_STATUSES", "ResilientTransport", "SECRET_PARAM_NAMES",
    "backoff_delay", "base_urls_from_env", "build_client", "deadline_transport", "parse_retry_after", "redact_url",
]
