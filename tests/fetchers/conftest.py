"""Shared test helpers for the live fetchers: fixture files, a fast client, a payload factory."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from fetchers.base import RawPayload
from fetchers.http import HostRateLimiter, HttpConfig, build_client
from fetchers.registry import http_policies

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "live"
SNAPSHOT = Path(__file__).resolve().parents[2] / "data" / "snapshot"
RETRIEVED = datetime(2026, 5, 1, 9, 30, tzinfo=timezone.utc)


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()


def payload(content: bytes, source: str, *, url: str = "https://example.invalid/file", published: str | None = None,
            params: dict | None = None, extra: dict | None = None) -> RawPayload:
    return RawPayload(source=source, url=url, params=params or {}, status=200, content=content, retrieved_at=RETRIEVED,
                      published=published, extra=extra or {})


class FastClient:
    """Builds clients whose retries sleep into a list instead of the clock."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, fetcher_cls, **config):
        cache_max_age = config.pop("cache_max_age", {})
        policies = http_policies(min_interval_s=0.0)
        for sid, age in cache_max_age.items():
            policies[sid] = policies[sid].model_copy(update={"cache_max_age_s": age})
        values = dict(contact_email="tests@example.org", backoff_base=0.001, backoff_cap=0.01, policies=policies)
        values.update(config)
        return build_client(fetcher_cls.info.id, fetcher_cls.default_base_url, HttpConfig(**values),
                            limiter=HostRateLimiter(), sleep=self.sleeps.append)


@pytest.fixture
def fast_client() -> FastClient:
    return FastClient()
