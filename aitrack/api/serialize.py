"""Rows in, response bodies out: JSON and CSV bodies, their ETags and gzip variants, Link headers, and the one
function that turns a stored body and a request's headers into the status, headers and bytes that are sent."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from aitrack.present.tabular import plain, shape_rows, to_csv, to_json

__all__ = ["CachedBody", "PreparedResponse", "accepts_gzip", "etag_matches", "links", "list_body", "plain",
           "prepare", "shape_rows", "to_csv", "to_json"]  # fmt: skip

GZIP_MIN_BYTES = 1024
CACHE_CONTROL = "public, max-age=60"
JSON = "application/json"
CSV = "text/csv; charset=utf-8"
HTML = "text/html; charset=utf-8"


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class CachedBody:
    """A response body as sent, with its ETag, the headers that depend only on the URL and the data (X-Total-Count,
    Link), and a gzip variant for large bodies (compressed once per data version)."""

    body: bytes
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...] = ()
    gzipped: bytes | None = None
    cache_control: str = CACHE_CONTROL

    @classmethod
    def of(cls, body: bytes, media_type: str, headers: Sequence[tuple[str, str]] = (),
           cache_control: str = CACHE_CONTROL) -> "CachedBody":  # fmt: skip
        packed = gzip.compress(body, compresslevel=6, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
        return cls(body, media_type, etag_of(body), tuple(headers), packed, cache_control)

    @property
    def gzip_etag(self) -> str:
        # A different representation needs a different strong validator (RFC 9110 §8.8.3).
        return self.etag[:-1] + '-gz"'

    @property
    def nbytes(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + sum(len(k) + len(v) for k, v in self.headers) + 256


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


def prepare(entry: CachedBody, *, accept_encoding: str | None, if_none_match: str | None
            ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:  # fmt: skip
    """(status, raw headers, body) for one request: gzip when accepted, 304 when its ETag matches."""
    packed = entry.gzipped is not None and accepts_gzip(accept_encoding)
    etag = entry.gzip_etag if packed else entry.etag
    headers = [("etag", etag), ("cache-control", entry.cache_control)]
    if entry.gzipped is not None:
        headers.append(("vary", "Accept-Encoding"))
    headers += list(entry.headers)
    if etag_matches(if_none_match, etag):
        return 304, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers], b""
    body = entry.gzipped if packed else entry.body
    headers += [("content-type", entry.media_type), ("content-length", str(len(body)))]
    if packed:
        headers.append(("content-encoding", "gzip"))
    return 200, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers], body  # type: ignore[arg-type]


class PreparedResponse(Response):
    """Sends exactly what `prepare` returned (the cache's replay path sends the same messages)."""

    def __init__(self, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status_code = status
        self.body = body
        self.raw_headers = raw_headers
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def links(base_url: str, path: str, params: Sequence[tuple[str, str]], total: int, limit: int, offset: int) -> str:
    """RFC 8288 Link header (first, prev, next, last). Absolute from the configured public base URL; without one the
    targets are path-absolute references ("/api/…"), resolved by the client against its own request URL. The Host
    header is never used: a client cannot make the server print a URL of its choosing."""
    kept = [(k, v) for k, v in params if k not in ("offset", "limit")]

    def url(at: int) -> str:
        return f"{base_url}{path}?{urlencode(kept + [('offset', str(at)), ('limit', str(limit))])}"

    out = [f'<{url(0)}>; rel="first"']
    if offset > 0:
        out.append(f'<{url(max(offset - limit, 0))}>; rel="prev"')
    if offset + limit < total:
        out.append(f'<{url(offset + limit)}>; rel="next"')
    out.append(f'<{url(max((total - 1) // limit * limit, 0))}>; rel="last"')
    return ", ".join(out)


def list_body(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str,
              headers: Sequence[tuple[str, str]] = (), *, shaped: bool = False) -> CachedBody:  # fmt: skip
    """Rows as JSON (an array of objects) or CSV (the same rows and columns); `shaped`: already in the documented
    columns with JSON-safe values (a relation's rows)."""
    body = rows if shaped else shape_rows(rows, columns)
    if fmt == "csv":
        return CachedBody.of(to_csv(body, columns), CSV, headers)
    return CachedBody.of(to_json(body), JSON, headers)
