"""The fetcher contract: typed query parameters → raw payloads (extract, I/O only) → observation frame (transform, pure)."""

from __future__ import annotations

import hashlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl
from pydantic import BaseModel, ConfigDict

from contracts.observations import OBSERVATION_SCHEMA, empty_observations, validate_observations
from fetchers.errors import EmptyDataError, SourceQueryError, SourceUnavailableError

if TYPE_CHECKING:
    import httpx


class SourceQuery(BaseModel):
    """Base for each fetcher's typed query; unknown parameters are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: int | None = None  # earliest year wanted; None = everything the source has


@dataclass(frozen=True)
class RawPayload:
    """One response body exactly as it came, with where and when it came from.

    A large file (an analyst's import) is not held in memory: `path` names the file with its bytes, `digest` and
    `size` describe it, and `content` is empty.
    """

    source: str
    url: str  # without any API key
    params: dict[str, Any]
    status: int
    content: bytes
    retrieved_at: datetime
    media_type: str = "application/octet-stream"
    published: str | None = None  # provider's release / last-updated date, if the payload says so
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"file": "...", "parser": "..."} for snapshot files
    path: Path | None = None
    digest: str | None = None
    size: int | None = None
    summary: Any = None  # what the fetcher learnt checking a file-backed payload (fetchers.user.UserFileSummary)

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.content).hexdigest()

    @property
    def size_bytes(self) -> int:
        return self.size if self.size is not None else len(self.content)

    def read_bytes(self) -> bytes:
        """The bytes, from memory or from the file (only for payloads known to be small)."""
        return self.path.read_bytes() if self.path is not None else self.content


@dataclass(frozen=True)
class SourceInfo:
    """Provenance shared by everything a source delivers (stored in the `source` table)."""

    id: str
    producer: str
    title: str
    homepage: str
    licence: str
    citation: str
    redistributable: bool
    cadence_days: int  # how often the provider updates; `status --check` compares against it


class Fetcher(ABC):
    """A source. Subclasses set `info` and `Query`, implement `extract` and `transform`."""

    info: ClassVar[SourceInfo]
    Query: ClassVar[type[SourceQuery]] = SourceQuery
    default_base_url: ClassVar[str] = ""  # live fetchers: overridable per source through HttpConfig.base_urls

    @abstractmethod
    def extract(self, query: SourceQuery, client: "httpx.Client") -> list[RawPayload]:
        """Do the I/O: return the raw payloads. Raise fetchers.errors types, never store anything."""

    @abstractmethod
    def transform(self, payloads: list[RawPayload], query: SourceQuery) -> pl.DataFrame:
        """Pure: parse payloads into an observation frame (db.frames contract). Raise SchemaDriftError on a bad shape."""


# -- helpers shared by the live fetchers --------------------------------------------------------


def vintage_of(payload: RawPayload, published: str | None = None) -> str:
    """Provider's release date when known, else the retrieval date (YYYY-MM-DD)."""
    chosen = published or payload.published
    if chosen:
        return str(chosen)[:10]
    return payload.retrieved_at.astimezone(timezone.utc).date().isoformat()


def observations_from_records(records: Iterable[Mapping[str, Any]], payload: RawPayload, *, source: str,
                              vintage: str | None = None) -> pl.DataFrame:
    """Records with indicator, country, year, value, unit, value_kind, source_series → a validated observation frame.

    Provenance columns (source, retrieved_at, vintage, snapshot_id) come from the payload, so every row can be traced
    to the bytes it was parsed from.
    """
    rows = list(records)
    if not rows:
        return empty_observations()
    retrieved = payload.retrieved_at
    if retrieved.tzinfo is None:
        retrieved = retrieved.replace(tzinfo=timezone.utc)
    frame = pl.DataFrame(
        {
            "indicator": [r["indicator"] for r in rows],
            "country": [r["country"] for r in rows],
            "year": [int(r["year"]) for r in rows],
            "year_start": [int(r.get("year_start") or r["year"]) for r in rows],
            "value": [float(r["value"]) for r in rows],
            "unit": [r["unit"] for r in rows],
            "value_kind": [r.get("value_kind", "measured") for r in rows],
            "source": [source] * len(rows),
            "source_series": [r["source_series"] for r in rows],
            "retrieved_at": [retrieved] * len(rows),
            "vintage": [vintage or vintage_of(payload)] * len(rows),
            "snapshot_id": [payload.sha256] * len(rows),
        },
        schema=OBSERVATION_SCHEMA,
    )
    return validate_observations(frame)


def stack_observations(frames: Iterable[pl.DataFrame], *, since: int | None = None) -> pl.DataFrame:
    """Stack per-payload frames, keeping years from `since` on; no rows gives an empty (valid) frame."""
    parts = [f for f in frames if f.height]
    if not parts:
        return empty_observations()
    out = pl.concat(parts, how="vertical")
    if since is not None:
        out = out.filter(pl.col("year") >= since)
    return validate_observations(out)


def concat_observations(
    frames: Iterable[pl.DataFrame], *, source: str, what: str, since: int | None = None
) -> pl.DataFrame:
    """`stack_observations`, sorted; an overall empty result is EmptyDataError (a request that found nothing)."""
    out = stack_observations(frames, since=since)
    if not out.height:
        raise EmptyDataError(f"{source}: no observations in {what}")
    return out.sort(["indicator", "country", "year"])


def raise_for_client_error(response: "httpx.Response", source: str, public_url: str) -> None:
    """A 4xx means our request was wrong (bad code, bad key): SourceQueryError with the provider's own words."""
    if 400 <= response.status_code < 500:
        message = response.text[:500].strip() or response.reason_phrase
        raise SourceQueryError(f"{source}: HTTP {response.status_code} for {public_url}: {message}",
                               status=response.status_code, url=public_url)
    if response.status_code >= 500:
        raise SourceUnavailableError(f"{source}: HTTP {response.status_code} for {public_url}")


class CountryResolver:
    """Provider labels → ISO3 through fetchers.countries, remembering labels that no mapping file knows.

    Unknown labels are dropped (they may be new regions) but reported, so a mapping file can be completed instead of
    a country silently vanishing.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.unknown: set[str] = set()

    def __call__(self, label: str) -> str | None:
        from fetchers import countries

        code = countries.to_iso3(label, self.source)
        if code is None and label.strip():
            if not countries.is_listed(label, self.source):
                self.unknown.add(label.strip())
        return code

    def report(self, what: str) -> None:
        if self.unknown:
            logging.getLogger(f"fetchers.{self.source}").warning(
                "%s: %d label(s) not in any country mapping, dropped: %s", what, len(self.unknown),
                ", ".join(sorted(self.unknown)[:20]))


def get_payload(client: "httpx.Client", source: str, path: str, params: Mapping[str, Any] | None = None, *,
                extra: Mapping[str, Any] | None = None, published: str | None = None,
                headers: Mapping[str, str] | None = None, published_from_last_modified: bool = False) -> RawPayload:
    """GET one resource and keep its body as it came; 4xx/5xx become typed errors. The stored URL carries no key.

    `published_from_last_modified`: for providers whose Last-Modified header is the data's release date.
    """
    from email.utils import parsedate_to_datetime

    from fetchers.http import redact_url

    clean_params = dict(params or {})
    response = client.get(path, params=clean_params, headers=dict(headers or {}))
    public_url = redact_url(response.request.url)
    raise_for_client_error(response, source, public_url)
    if published is None and published_from_last_modified and response.headers.get("last-modified"):
        try:
            published = parsedate_to_datetime(response.headers["last-modified"]).date().isoformat()
        except (TypeError, ValueError):
            published = None
    return RawPayload(
        source=source,
        url=public_url,
        params=clean_params,
        status=response.status_code,
        content=response.content,
        retrieved_at=datetime.now(timezone.utc),
        media_type=response.headers.get("content-type", "application/octet-stream").split(";")[0].strip(),
        published=published,
        extra=dict(extra or {}),
    )


def mark_unfinished_years(frame: pl.DataFrame) -> pl.DataFrame:
    """A `measured` annual value for a year that had not ended when the data was published is `provisional`.

    The vintage (the provider's release date, else the retrieval date) bounds what the year can contain:
    Epoch's 2025 count in a file of April 2025, or OECD.AI's 2026 total downloaded in September 2026, are
    partial years. They stay visible but never enter a forecast as history.
    """
    if frame.height == 0:
        return frame
    vintage_year = pl.col("vintage").str.slice(0, 4).cast(pl.Int64, strict=False)
    unfinished = (pl.col("value_kind") == "measured") & vintage_year.is_not_null() & (pl.col("year") >= vintage_year)
    return frame.with_columns(
        pl.when(unfinished).then(pl.lit("provisional")).otherwise(pl.col("value_kind")).alias("value_kind")
    )
