"""Shared helpers for the curated-source tests: the repository's snapshot files as payloads, and the shared data folder when present."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from fetchers.base import RawPayload
from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.snapshot import SNAPSHOT_ROOT, load_manifests, payload_for
from tests.conftest import SHARED_DATA  # noqa: F401  (re-exported for the curated tests)

CURATED_ROOT = SNAPSHOT_ROOT / "curated"
FIXTURES = Path(__file__).with_name("fixtures")


def snapshot_payload(provider: str, file: str) -> RawPayload:
    """The snapshot file as the snapshot fetcher would hand it to its parser (manifest provenance included)."""
    entry = next(e for e in load_manifests(CURATED_ROOT / provider) if e.file == file)
    return payload_for(entry, entry.path.read_bytes())


def parse_snapshot_file(provider: str, file: str) -> pl.DataFrame:
    payload = snapshot_payload(provider, file)
    return CURATED_PARSERS[payload.extra["parser"]](payload, payload.extra["options"])


def with_content(payload: RawPayload, content: bytes) -> RawPayload:
    """The same provenance around other bytes (a deliberately damaged copy of a real file)."""
    return RawPayload(**{**payload.__dict__, "content": content})


def value(frame: pl.DataFrame, indicator: str, country: str, year: int) -> float:
    hit = frame.filter((pl.col("indicator") == indicator) & (pl.col("country") == country) & (pl.col("year") == year))
    assert hit.height == 1, f"{indicator} {country} {year}: {hit.height} rows"
    return hit["value"][0]


def shared_file(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not present (cross-check against the shared data folder)")
    return path


def shared_payload(source: str, *parts: str) -> RawPayload:
    """A real file of the shared data folder as a payload, for sources whose files may not be shipped in the snapshot
    (an unclear licence keeps them out of data/snapshot and out of tests/ fixtures too); skips when the folder is absent."""
    path = shared_file(*parts)
    return RawPayload(source=source, url=path.as_uri(), params={"file": path.name}, status=200,
                      content=path.read_bytes(), retrieved_at=datetime(2026, 12, 2, tzinfo=timezone.utc),
                      media_type="text/csv")
