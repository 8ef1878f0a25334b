"""HTTP configuration: the per-source policy, the client settings, URL redaction, retry timing (no I/O)."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from fetchers.errors import SourceUnavailableError

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


