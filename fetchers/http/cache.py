"""Response bodies on disk with their validators, for conditional requests (sources with a cache in their policy)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx


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


