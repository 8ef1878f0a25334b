"""Read-only HTTP API and dashboard page: a Repository (or an Engine) in, a FastAPI app out; `serve` runs it.

Every route is GET (HEAD is answered by a middleware that drops the body). Responses are kept per *data version*
(re-read at most once a second): a repeated URL is replayed from memory without touching the database, so readers
stay fast while a refresh writes; a change in the data empties the cache and the next request rebuilds it, once.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aitrack import __version__
from contracts.kinds import VALUE_KINDS
from contracts.observations import OBSERVATION_COLUMNS
from db.read import Reader

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
MAX_OFFSET = 2**31 - 1
YEAR_MIN, YEAR_MAX = 1800, 2200
CACHE_CONTROL = "public, max-age=60"
# How often the data version is re-read: a refresh shows up in the API within this many seconds.
VERSION_CHECK_SECONDS = 1.0
CACHE_ENTRIES = 2048
EVIDENCE_KINDS = ("measured", "estimate", "target", "pledge", "forecast", "claim")
STATIC_FILES = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}

COLUMNS: dict[str, tuple[str, ...]] = {
    "indicators": (
        "id", "name", "unit", "category", "direction", "comparison", "forecast_scale", "cadence_days", "origin",
        "caveats", "n_values",
    ),
    "observations": OBSERVATION_COLUMNS,
    "forecasts": (
        "run_id", "created_at", "subject", "subject_kind", "pair", "country", "model", "year", "mean", "lo_80",
        "hi_80", "lo_95", "hi_95", "nowcast",
    ),
    "crossovers": (
        "run_id", "created_at", "subject", "subject_kind", "pair", "leader_now", "leader_since", "status",
        "data_end_year", "last_crossing_year", "historical_crossings", "median_year", "lo_80", "hi_80", "lo_95",
        "hi_95", "p_by", "p_after_horizon", "p_crossed_by_now", "horizon", "n_paths", "model", "stale", "notes",
    ),
    "dimensions": (
        "build_id", "computed_at", "dimension", "pair", "year", "score", "lo_80", "hi_80", "lo_95", "hi_95",
        "n_present", "n_indicators", "weight_present", "weight_nowcast", "status", "leader",
    ),
    "evidence": (
        "evidence_id", "document", "line", "quote", "indicator", "country", "period_start", "period_end", "value",
        "unit", "value_kind", "source_named", "notes",
    ),
}  # fmt: skip


# ---------------------------------------------------------------------------------------------- documented shapes
class IndicatorOut(BaseModel):
    id: str
    name: str
    unit: str
    category: str
    direction: str
    comparison: str
    forecast_scale: str
    cadence_days: int
    origin: str
    caveats: list[str]
    n_values: int = Field(description="stored observation rows (every vintage)")


class ObservationOut(BaseModel):
    indicator: str
    country: str
    year: int
    year_start: int = Field(description="== year for an annual value; earlier for a multi-year total")
    value: float
    unit: str
    value_kind: str
    source: str
    source_series: str
    retrieved_at: datetime
    vintage: str
    snapshot_id: str


class ForecastOut(BaseModel):
    run_id: str
    created_at: datetime
    subject: str
    subject_kind: str
    pair: str
    country: str
    model: str
    year: int
    mean: float | None = Field(description="median of the sample paths")
    lo_80: float | None
    hi_80: float | None
    lo_95: float | None
    hi_95: float | None
    nowcast: bool = Field(description="a year already past whose data are not yet published")


class CrossoverOut(BaseModel):
    run_id: str
    created_at: datetime
    subject: str
    subject_kind: str
    pair: str
    leader_now: str | None
    leader_since: int | None
    status: str
    data_end_year: int | None
    last_crossing_year: int | None
    historical_crossings: list[int]
    median_year: int | None
    lo_80: int | None
    hi_80: int | None
    lo_95: int | None
    hi_95: int | None
    p_by: dict[str, float | None]
    p_after_horizon: float | None
    p_crossed_by_now: float | None
    horizon: int | None
    n_paths: int
    model: str | None
    stale: bool
    notes: list[str]


class DimensionOut(BaseModel):
    build_id: str
    computed_at: datetime
    dimension: str
    pair: str
    year: int
    score: float | None
    lo_80: float | None
    hi_80: float | None
    lo_95: float | None
    hi_95: float | None
    n_present: int
    n_indicators: int
    weight_present: float | None
    weight_nowcast: float | None
    status: str
    leader: str | None


class EvidenceOut(BaseModel):
    evidence_id: str
    document: str
    line: int
    quote: str
    indicator: str
    country: str | None
    period_start: int | None
    period_end: int | None
    value: float | None
    unit: str
    value_kind: str
    source_named: str | None
    notes: str | None


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: str
    schema_revision: str | None
    data_version: str
    latest_forecast_run: str | None
    api_version: str


class NotFoundOut(BaseModel):
    detail: str
    valid: list[str]


class ValidationErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationProblemOut(BaseModel):
    detail: str
    errors: list[ValidationErrorItem]


# ---------------------------------------------------------------------------------------------- query parameters
def _iso3(value: str | None) -> str | None:
    return value.upper() if value is not None else None


def _whole_number(value: Any) -> Any:
    """Plain digits only: pydantic's lax parsing would take "1.0", " 5" or "1_000" for an integer."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,12}", value):
        raise ValueError(f"must be a whole number written with digits only, got {value!r}")
    return value


QueryInt = Annotated[int, BeforeValidator(_whole_number)]


# Optional filters are typed without `| None`: absent means "no filter", and an OpenAPI `null` alternative would
# invite clients (and fuzzers) to send the string "null", which a query string cannot tell from a value.
class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    format: Literal["json", "csv"] = Field("json", description="json (default) or csv: the same rows and columns")


class _PagedQuery(_Query):
    limit: QueryInt = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"rows per page (1–{MAX_LIMIT})")
    offset: QueryInt = Field(0, ge=0, le=MAX_OFFSET, description="rows to skip; see the Link and X-Total-Count headers")


class ObservationsQuery(_PagedQuery):
    indicator: str = Field(None, description="indicator id (see /api/indicators); unknown → 404")
    country: str = Field(None, pattern=r"^[A-Za-z]{3}$", description="ISO3 code, e.g. CHN, USA, XUC")
    year_from: QueryInt = Field(None, alias="from", ge=YEAR_MIN, le=YEAR_MAX, description="first year")
    year_to: QueryInt = Field(None, alias="to", ge=YEAR_MIN, le=YEAR_MAX, description="last year")
    kind: Literal[VALUE_KINDS] = Field(None, description="value_kind filter")  # type: ignore[valid-type]

    _upper = field_validator("country")(_iso3)

    @model_validator(mode="after")
    def _ordered_years(self) -> "ObservationsQuery":
        if self.year_from is not None and self.year_to is not None and self.year_from > self.year_to:
            raise ValueError(f"from ({self.year_from}) is after to ({self.year_to})")
        return self


class ForecastsQuery(_PagedQuery):
    subject: str = Field(None, description="indicator id or dimension name; unknown → 404")
    run: str = Field(None, max_length=36, description="forecast run id (backtests included); default: latest")
    country: str = Field(None, pattern=r"^[A-Za-z]{3}$", description="ISO3 code")

    _upper = field_validator("country")(_iso3)


class CrossoversQuery(_PagedQuery):
    subject: str = Field(None, description="indicator id or dimension name; unknown → 404")


class DimensionsQuery(_PagedQuery):
    dimension: str = Field(None, description="values, cohesion, influence or legitimacy; unknown → 404")


class EvidenceQuery(_PagedQuery):
    indicator: str = Field(None, description="indicator id, or `uncatalogued`; unknown → 404")
    kind: Literal[EVIDENCE_KINDS] = Field(None, description="value_kind of the figure")  # type: ignore[valid-type]
    country: str = Field(None, pattern=r"^[A-Za-z]{3}(-[A-Za-z]{3})?$", description="ISO3 or a pair, CHN-USA")

    _upper = field_validator("country")(_iso3)


class FormatQuery(_Query):
    pass


class HealthQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------------------- serialisation
def _plain(value: Any) -> Any:
    """JSON-safe value: datetimes as ISO 8601 UTC, non-finite floats as null (never sent as NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def shape_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[dict[str, Any]]:
    """The documented columns, in order, with JSON-safe values.

    Columns whose values are all str, int or bool are copied as they are; only the others go through `_plain`
    (this runs for every uncached response, a thousand rows at a time).
    """
    simple = (str, int, bool, type(None))
    plain_columns = {c for c in columns if not all(isinstance(row.get(c), simple) for row in rows)}
    return [{c: _plain(row.get(c)) if c in plain_columns else row.get(c) for c in columns} for row in rows]


def select_observations(
    rows: Sequence[dict[str, Any]], *, country: str | None = None, year_from: int | None = None,
    year_to: int | None = None, value_kind: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The rows of one indicator's slice that pass the API's filters, in their order (the SQL WHERE, in memory)."""
    return [
        row for row in rows
        if (country is None or row["country"] == country)
        and (year_from is None or row["year"] >= year_from)
        and (year_to is None or row["year"] <= year_to)
        and (value_kind is None or row["value_kind"] == value_kind)
    ]  # fmt: skip


def to_json(rows: Any) -> bytes:
    """Compact UTF-8 JSON (orjson: ~15x faster than `json.dumps` on a thousand observation rows).

    Values are JSON-safe already (`shape_rows`); a non-finite float would be written as null, never as NaN.
    """
    return orjson.dumps(rows)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """One header line and one line per row; nested values (caveats, p_by) are JSON text in their cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            ["" if (v := row.get(c)) is None else json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list))
             else v for c in columns]
        )  # fmt: skip
    return out.getvalue().encode()


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def accepts_gzip(header: str | None) -> bool:
    """True when Accept-Encoding lists gzip (or *) without q=0."""
    for part in (header or "").lower().split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return float(q) > 0 if params.strip().startswith("q=") else True
            except ValueError:
                return False
    return False


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in candidates or etag in candidates


# ---------------------------------------------------------------------------------------------- errors
class NotFound(Exception):
    """An id the database does not know: 404 with the valid ids."""

    def __init__(self, detail: str, valid: Sequence[str]) -> None:
        super().__init__(detail)
        self.detail = detail
        self.valid = sorted(valid)


# Query fields whose URL name differs from the Python name (`from` is a keyword): errors name the URL parameter.
PARAMETER_NAMES = {name: f.alias for name, f in ObservationsQuery.model_fields.items() if f.alias}


def _reject_python_names(request: Request, model: type[BaseModel]) -> None:
    """FastAPI silently drops `?year_from=` (the field's Python name); reject it like any unknown parameter."""
    for name, f in model.model_fields.items():
        if f.alias and f.alias != name and name in request.query_params:
            raise RequestValidationError(
                [{"loc": ("query", name), "msg": f"Extra inputs are not permitted (the parameter is {f.alias!r})",
                  "type": "extra_forbidden"}]  # fmt: skip
            )


def _error_items(exc: RequestValidationError) -> list[dict[str, Any]]:
    items = []
    for err in exc.errors():
        renamed = PARAMETER_NAMES if err.get("type") != "extra_forbidden" else {}
        loc = [renamed.get(p, p) if isinstance(p, str) else p for p in err.get("loc", ()) if p != "query"]
        message = str(err.get("msg")).removeprefix("Value error, ")
        items.append({"loc": [p if isinstance(p, (str, int)) else str(p) for p in loc], "msg": message,
                      "type": str(err.get("type"))})  # fmt: skip
    return items


def validation_message(items: Sequence[dict[str, Any]]) -> str:
    parts = []
    for item in items:
        where = ".".join(str(p) for p in item["loc"]) or "query"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts) or "invalid request"


# ---------------------------------------------------------------------------------------------- caching
GZIP_MIN_BYTES = 1024


@dataclass(frozen=True)
class CachedBody:
    """A response body as sent, with its ETag, and a gzip variant for large bodies (compressed once per version)."""

    body: bytes
    media_type: str
    etag: str
    total: int | None = None
    gzipped: bytes | None = None

    @classmethod
    def of(cls, body: bytes, media_type: str, total: int | None = None) -> "CachedBody":
        packed = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        return cls(body, media_type, etag_of(body), total, packed)

    @property
    def gzip_etag(self) -> str:
        # A different representation needs a different strong validator (RFC 9110 §8.8.3).
        return self.etag[:-1] + '-gz"'


class ResponseCache:
    """Response bodies (and id sets) keyed by (data version, request key).

    The version is re-read at most once per VERSION_CHECK_SECONDS; a new version empties the cache.
    """

    def __init__(self, read_version: Callable[[], str], *, check_seconds: float = VERSION_CHECK_SECONDS) -> None:
        self._read_version = read_version
        self._check_seconds = check_seconds
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, Any] = OrderedDict()
        self._building: dict[tuple, threading.Lock] = {}
        self._version: str | None = None
        self._checked_at = -math.inf

    def version(self) -> str:
        now = time.monotonic()
        if now - self._checked_at >= self._check_seconds or self._version is None:
            version = self._read_version()
            with self._lock:
                if version != self._version:
                    self._entries.clear()
                    self._building.clear()
                self._version, self._checked_at = version, now
        return self._version  # type: ignore[return-value]

    def peek(self, key: tuple) -> Any | None:
        """The cached value without touching the database, or None (stale version or a miss): never blocks."""
        if self._version is None or time.monotonic() - self._checked_at >= self._check_seconds:
            return None
        with self._lock:
            hit = self._entries.get((self._version,) + key)
            if hit is not None:
                self._entries.move_to_end((self._version,) + key)
            return hit

    def current_version(self) -> str | None:
        return self._version

    def store(self, key: tuple, value: Any, *, version: str) -> None:
        with self._lock:
            if version != self._version:
                return
            self._entries[(version,) + key] = value
            while len(self._entries) > CACHE_ENTRIES:
                self._entries.popitem(last=False)

    def get_or_build(self, key: tuple, build: Callable[[], Any]) -> Any:
        """The value built for `key` under the current data version, built once even when many ask at once.

        Concurrent misses for one key wait for the first builder instead of all querying the database (after a
        refresh every reader misses at the same moment).
        """
        version = self.version()
        full = (version,) + key
        with self._lock:
            hit = self._entries.get(full)
            if hit is not None:
                self._entries.move_to_end(full)
                return hit
            gate = self._building.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                hit = self._entries.get(full)
            if hit is not None:
                return hit
            built = build()
            with self._lock:
                self._entries[full] = built
                self._building.pop(full, None)
                while len(self._entries) > CACHE_ENTRIES:
                    self._entries.popitem(last=False)
        return built


class CachedResponses:
    """Replays a 200 response for a byte-identical GET (path, query, Host, gzip or not) under the same data version.

    It sits in front of routing and parameter validation: the first request for a URL is validated and built by
    the routes, later ones are answered from memory (with 304 for a matching If-None-Match) until the data changes.
    """

    CACHEABLE = ("/api/indicators", "/api/observations", "/api/forecasts", "/api/crossovers", "/api/dimensions",
                 "/api/evidence", "/")  # fmt: skip

    def __init__(self, app: ASGIApp, cache: ResponseCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self.CACHEABLE:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        # Everything a route's answer depends on: Link headers are absolute (scheme and Host).
        key = ("raw", scope["path"], scope["query_string"], scope.get("scheme", "http"), headers.get(b"host", b""),
               accepts_gzip(headers.get(b"accept-encoding", b"").decode("latin-1")))  # fmt: skip
        hit = self.cache.peek(key)
        if hit is not None:
            status, stored, body = hit
            etag = dict(stored).get(b"etag", b"").decode()
            if etag_matches(headers.get(b"if-none-match", b"").decode("latin-1"), etag):
                kept = [(k, v) for k, v in stored if k in (b"etag", b"cache-control", b"vary")]
                await send({"type": "http.response.start", "status": 304, "headers": kept})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({"type": "http.response.start", "status": status, "headers": stored})
            await send({"type": "http.response.body", "body": body})
            return

        version_before = self.cache.current_version()
        captured: dict[str, Any] = {"chunks": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"], captured["headers"] = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["chunks"].append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, capture)
        # Store only what was built under a version that is still current (a refresh mid-request is not cached).
        unchanged = version_before is not None and version_before == self.cache.current_version()
        if captured.get("status") == 200 and unchanged:
            self.cache.store(key, (200, captured["headers"], b"".join(captured["chunks"])), version=version_before)


class HeadAsGet:
    """Answer HEAD by running GET and dropping the body, so only GET routes exist."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)


# ---------------------------------------------------------------------------------------------- the app
def _list_responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {
            "model": list[model],  # type: ignore[valid-type]
            "description": "JSON array of rows; with format=csv the same rows and columns as CSV. Headers: ETag, "
            "Cache-Control, X-Total-Count, Link (rel next/prev/first/last).",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        404: {"model": NotFoundOut, "description": "an unknown id; `valid` lists the known ones"},
        422: {"model": ValidationProblemOut, "description": "a malformed parameter"},
    }


def create_app(
    source: Reader | Engine, *, catalog: Any | None = None, version_check_seconds: float = VERSION_CHECK_SECONDS
) -> FastAPI:
    """The application over one database; it only ever reads (SELECT), so a read-only role suffices."""
    repo = source if isinstance(source, Reader) else Reader(source)
    if catalog is None:
        from aitrack.jobs.catalog import current_catalog

        catalog = current_catalog(repo)
    cache = ResponseCache(repo.data_version, check_seconds=version_check_seconds)
    app = FastAPI(
        title="aitrack: US–China AI competition tracker",
        version=__version__,
        description="Read-only access to the indicators, observations (latest vintage), forecasts, crossover "
        "estimates, dimension scores and seed evidence. JSON by default, CSV with `format=csv`.",
        docs_url=None,
        redoc_url=None,
    )
    # The last middleware added runs first: HEAD becomes GET, then the replay cache, then routing.
    app.add_middleware(CachedResponses, cache=cache)
    app.add_middleware(HeadAsGet)

    async def cached(key: tuple, build: Callable[[], Any]) -> Any:
        # Hits are served on the event loop; only a miss or a due version check goes to a worker thread (database).
        hit = cache.peek(key)
        if hit is None:
            hit = await run_in_threadpool(cache.get_or_build, key, build)
        return hit

    async def known(name: str, read: Callable[[], set[str]]) -> frozenset[str]:
        return await cached(("known", name), lambda: frozenset(read()))

    async def indicator_ids() -> frozenset[str]:
        return await known("indicators", repo.indicator_ids)

    async def subject_ids() -> frozenset[str]:
        return await known(
            "subjects", lambda: repo.indicator_ids() | set(catalog.dimensions) | repo.forecast_subjects()
        )

    def respond(request: Request, entry: CachedBody, *, limit: int | None = None, offset: int = 0) -> Response:
        packed = entry.gzipped is not None and accepts_gzip(request.headers.get("accept-encoding"))
        etag = entry.gzip_etag if packed else entry.etag
        headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
        if entry.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
        if entry.total is not None:
            headers["X-Total-Count"] = str(entry.total)
            if limit is not None:
                headers["Link"] = _links(request, entry.total, limit, offset)
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        if packed:
            headers["Content-Encoding"] = "gzip"
            return Response(entry.gzipped, media_type=entry.media_type, headers=headers)
        return Response(entry.body, media_type=entry.media_type, headers=headers)

    async def table(
        request: Request, name: str, params: _Query, read: Callable[[], Any], *, shaped_by_read: bool = False
    ) -> Response:
        """Rows from `read` (a list, or a (page, total) pair) as JSON or CSV, cached under the data version.

        `shaped_by_read`: the rows are already in the documented columns with JSON-safe values.
        """
        key = (name, tuple(sorted(params.model_dump().items())))

        def build() -> CachedBody:
            result = read()
            rows, total = result if isinstance(result, tuple) else (result, len(result))
            shaped = rows if shaped_by_read else shape_rows(rows, COLUMNS[name])
            if params.format == "csv":
                body, media = to_csv(shaped, COLUMNS[name]), "text/csv; charset=utf-8"
            else:
                body, media = to_json(shaped), "application/json"
            return CachedBody.of(body, media, total)

        body = await cached(key, build)
        if isinstance(params, _PagedQuery):
            return respond(request, body, limit=params.limit, offset=params.offset)
        return respond(request, body)

    async def table_from_memory(
        request: Request, name: str, params: _PagedQuery, relation: tuple, read_all: Callable[[], list[dict]],
        keep: Callable[[list[dict]], list[dict]],
    ) -> Response:  # fmt: skip
        """`table` over rows read once per data version (`read_all`) and kept in memory: `keep` is the WHERE,
        the page is cut here, so each further filter or page of the relation costs no database read."""

        def read_page() -> tuple[list[dict[str, Any]], int]:
            whole = cache.get_or_build(("relation",) + relation, lambda: shape_rows(read_all(), COLUMNS[name]))
            rows = keep(whole)
            return rows[params.offset : params.offset + params.limit], len(rows)

        return await table(request, name, params, read_page, shaped_by_read=True)

    @app.exception_handler(NotFound)
    async def _not_found(_request: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "valid": exc.valid}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        items = _error_items(exc)
        return JSONResponse({"detail": validation_message(items), "errors": items}, status_code=422)

    @app.get("/api/health", response_model=HealthOut, summary="Liveness, schema revision and data version")
    def health(params: Annotated[HealthQuery, Query()]) -> JSONResponse:
        from db.migrate import current_revision

        runs = [r for r in repo.forecast_runs() if r["kind"] == "official"]
        return JSONResponse(
            {
                "status": "ok", "database": repo.dialect, "schema_revision": current_revision(repo.engine),
                "data_version": cache.version(), "latest_forecast_run": runs[0]["id"] if runs else None,
                "api_version": __version__,
            },
            headers={"Cache-Control": "no-store"},
        )  # fmt: skip

    @app.get("/api/indicators", summary="The indicator catalog as stored", responses=_list_responses(IndicatorOut))
    async def indicators(request: Request, params: Annotated[FormatQuery, Query()]) -> Response:
        return await table(request, "indicators", params, lambda: repo.indicators().to_dicts())

    @app.get(
        "/api/observations", summary="Current values (latest vintage, preferred source)",
        responses=_list_responses(ObservationOut),
    )  # fmt: skip
    async def observations(request: Request, params: Annotated[ObservationsQuery, Query()]) -> Response:
        _reject_python_names(request, ObservationsQuery)
        if params.indicator is not None and params.indicator not in await indicator_ids():
            raise NotFound(f"unknown indicator {params.indicator!r}", await indicator_ids())
        if params.indicator is None:
            return await table(
                request, "observations", params,
                lambda: _rows(repo.latest_observation_page(
                    countries=_one(params.country), year_from=params.year_from, year_to=params.year_to,
                    kinds=_one(params.kind), limit=params.limit, offset=params.offset,
                )),
            )  # fmt: skip
        indicator = params.indicator
        return await table_from_memory(
            request, "observations", params, ("observations", indicator),
            lambda: repo.latest_observations(indicators=[indicator], kinds=None).to_dicts(),
            lambda rows: select_observations(rows, country=params.country, year_from=params.year_from,
                                             year_to=params.year_to, value_kind=params.kind),
        )  # fmt: skip

    @app.get(
        "/api/forecasts", summary="Forecast rows of the latest run per subject, or of one run",
        responses=_list_responses(ForecastOut),
    )  # fmt: skip
    async def forecasts(request: Request, params: Annotated[ForecastsQuery, Query()]) -> Response:
        if params.subject is not None and params.subject not in await subject_ids():
            raise NotFound(f"unknown subject {params.subject!r}", await subject_ids())
        if params.run is not None:
            runs = await known("runs", lambda: {r["id"] for r in repo.forecast_runs()})
            if params.run not in runs:
                raise NotFound(f"unknown forecast run {params.run!r}", runs)
        return await table(
            request, "forecasts", params,
            lambda: _rows(repo.forecasts(subject=params.subject, run_id=params.run, country=params.country,
                                         limit=params.limit, offset=params.offset)),
        )  # fmt: skip

    @app.get(
        "/api/crossovers", summary="Crossover estimates of the latest current-data run",
        responses=_list_responses(CrossoverOut),
    )  # fmt: skip
    async def crossovers(request: Request, params: Annotated[CrossoversQuery, Query()]) -> Response:
        if params.subject is not None and params.subject not in await subject_ids():
            raise NotFound(f"unknown subject {params.subject!r}", await subject_ids())
        return await table_from_memory(
            request, "crossovers", params, ("crossovers",), lambda: _crossover_rows(repo),
            lambda rows: [row for row in rows if params.subject is None or row["subject"] == params.subject],
        )  # fmt: skip

    @app.get("/api/dimensions", summary="Dimension scores of the latest build", responses=_list_responses(DimensionOut))
    async def dimensions(request: Request, params: Annotated[DimensionsQuery, Query()]) -> Response:
        if params.dimension is not None and params.dimension not in catalog.dimensions:
            raise NotFound(f"unknown dimension {params.dimension!r}", list(catalog.dimensions))
        return await table(
            request, "dimensions", params,
            lambda: _rows(repo.dimension_scores(dimension=params.dimension, limit=params.limit, offset=params.offset)),
        )  # fmt: skip

    @app.get("/api/evidence", summary="Figures cited in the seed documents", responses=_list_responses(EvidenceOut))
    async def evidence(request: Request, params: Annotated[EvidenceQuery, Query()]) -> Response:
        if params.indicator is not None:
            valid = await indicator_ids() | await known("evidence_indicators", repo.evidence_indicators)
            if params.indicator not in valid:
                raise NotFound(f"unknown indicator {params.indicator!r}", valid)
        return await table(
            request, "evidence", params,
            lambda: _rows(repo.evidence(indicator=params.indicator, kind=params.kind, country=params.country,
                                        limit=params.limit, offset=params.offset)),
        )  # fmt: skip

    @app.get("/", include_in_schema=False)
    async def dashboard(request: Request) -> Response:
        from aitrack.dashboard.render import load_dashboard_data, render_dashboard

        def build() -> CachedBody:
            html = render_dashboard(load_dashboard_data(repo), catalog)
            return CachedBody.of(html.encode(), "text/html; charset=utf-8")

        return respond(request, await cached(("dashboard",), build))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(request: Request, name: str) -> Response:
        from aitrack.dashboard.render import static_text

        if name not in STATIC_FILES:
            raise NotFound(f"no static file {name!r}", list(STATIC_FILES))
        return respond(request, CachedBody.of(static_text(name).encode(), STATIC_FILES[name]))

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        from aitrack.dashboard.render import render_api_docs

        return HTMLResponse(render_api_docs(app.openapi()), headers={"Cache-Control": CACHE_CONTROL})

    return app


def _rows(page: tuple[Any, int]) -> tuple[list[dict[str, Any]], int]:
    frame, total = page
    return frame.to_dicts(), total


def _one(value: Any) -> list[Any] | None:
    return None if value is None else [value]


def _crossover_rows(reader: Reader) -> list[dict[str, Any]]:
    created = reader.crossover_run_times()
    return [{**cx.as_dict(), "created_at": created.get(cx.run_id)} for cx in reader.crossovers()]


def _links(request: Request, total: int, limit: int, offset: int) -> str:
    def url(at: int) -> str:
        return str(request.url.include_query_params(offset=at, limit=limit))

    links = [f'<{url(0)}>; rel="first"']
    if offset > 0:
        links.append(f'<{url(max(offset - limit, 0))}>; rel="prev"')
    if offset + limit < total:
        links.append(f'<{url(offset + limit)}>; rel="next"')
    last = max((total - 1) // limit * limit, 0)
    links.append(f'<{url(last)}>; rel="last"')
    return ", ".join(links)


def app_from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` (several workers): settings from AITRACK_* variables."""
    from aitrack.context import AppContext
    from aitrack.settings import load_settings

    return create_app(AppContext(load_settings()).require_schema())


def run_server(target: str | FastAPI, *, host: str, port: int, workers: int = 1, log_level: str = "info",
               access_log: bool = True) -> None:  # fmt: skip
    """uvicorn, with TCP_NODELAY on the shared listening socket when there are several workers.

    uvicorn creates that socket with protocol 0, so asyncio does not switch Nagle off on the accepted connections;
    a small response written as headers + body then waits ~40 ms for the client's delayed ACK. Linux copies
    TCP_NODELAY from the listening socket to the connections it accepts.
    """
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    factory = isinstance(target, str)
    config = uvicorn.Config(target, factory=factory, host=host, port=port, workers=workers, log_level=log_level,
                            access_log=access_log)  # fmt: skip
    server = uvicorn.Server(config)
    if workers <= 1:
        server.run()
        return
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, target=server.run, sockets=[sock]).run()


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Any | None = None, *, workers: int = 1,
          log_level: str = "info") -> None:  # fmt: skip
    """Run the API and dashboard with uvicorn; fails first with a clear error if the database is not at head."""
    from aitrack.context import AppContext
    from aitrack.settings import load_settings

    settings = settings or load_settings()
    repo = AppContext(settings).require_schema()
    if workers > 1:
        # Worker processes build their own app from the environment, so hand them the resolved database URL.
        os.environ["AITRACK_DATABASE_URL"] = settings.resolved_database_url
        repo.engine.dispose()
        run_server("aitrack.api:app_from_environment", host=host, port=port, workers=workers, log_level=log_level)
    else:
        run_server(create_app(repo), host=host, port=port, log_level=log_level)


if __name__ == "__main__":  # python -m aitrack.api HOST PORT WORKERS: the benchmark's server (settings from env)
    run_server("aitrack.api:app_from_environment", host=sys.argv[1], port=int(sys.argv[2]), workers=int(sys.argv[3]),
               log_level="warning", access_log=False)  # fmt: skip
