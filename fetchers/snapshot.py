"""The embedded snapshot: `data/snapshot/**/manifest.yaml` + the files they list → raw payloads (sha256-checked) → one observation frame."""

from __future__ import annotations

import hashlib
import mimetypes
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from contracts import yamltext
from contracts.observations import validate_observations
from fetchers.base import Fetcher, RawPayload, SourceInfo, SourceQuery, stack_observations
from fetchers.errors import SchemaDriftError

if TYPE_CHECKING:
    import httpx

SnapshotParser = Callable[[RawPayload, dict[str, Any]], pl.DataFrame]

# fetchers/snapshot.py → the repository root is one level above the package.
SNAPSHOT_ROOT = Path(__file__).resolve().parents[1] / "data" / "snapshot"
MANIFEST_NAME = "manifest.yaml"
# Files that document a directory rather than carry data; they need no manifest entry.
UNLISTED_NAMES = frozenset({MANIFEST_NAME, "README.md"})


class ManifestEntry(BaseModel):
    """One data file of the snapshot with its origin; the YAML keys are exactly these (no extras)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1)
    parser: str = Field(min_length=1)
    options: dict[str, Any] = Field(default_factory=dict)
    source: str = Field(min_length=1)
    producer: str
    title: str
    url: str
    repository: str | None
    retrieved: date
    published: date | None
    licence: str
    citation: str
    redistributable: bool
    derived: str | None
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")

    _directory: Path = PrivateAttr(default=Path("."))

    @property
    def path(self) -> Path:
        return self._directory / self.file

    @property
    def retrieved_at(self) -> datetime:
        return datetime.combine(self.retrieved, time(0, 0), tzinfo=timezone.utc)


class ExcludedFile(BaseModel):
    """A file deliberately left out of the snapshot, and why (usually its licence)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class Manifest(BaseModel):
    """One directory's `manifest.yaml`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    files: list[ManifestEntry] = Field(default_factory=list)
    excluded: list[ExcludedFile] = Field(default_factory=list)

    _path: Path = PrivateAttr(default=Path(MANIFEST_NAME))

    @property
    def path(self) -> Path:
        return self._path

    @property
    def directory(self) -> Path:
        return self._path.parent


def read_manifest(path: Path) -> Manifest:
    """Parse and check one manifest; SchemaDriftError names the manifest and what is wrong with it."""
    try:
        raw = yamltext.safe_load(path.read_text(encoding="utf-8")) or {}
        manifest = Manifest.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise SchemaDriftError(f"{path}: not a valid snapshot manifest: {exc}") from exc
    names = [entry.file for entry in manifest.files]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SchemaDriftError(f"{path}: lists {', '.join(repeated)} more than once")
    for entry in manifest.files:
        if Path(entry.file).name != entry.file:
            raise SchemaDriftError(f"{path}: entry {entry.file!r} must be a plain file name in this directory")
        if not entry.redistributable:
            # A snapshot is shipped with the repository: a file that may not be redistributed has no place in it.
            raise SchemaDriftError(f"{path}: {entry.file} is not redistributable; list it under `excluded` instead")
        entry._directory = path.parent
    clash = sorted(set(names) & {x.file for x in manifest.excluded})
    if clash:
        raise SchemaDriftError(f"{path}: {', '.join(clash)} is both listed and excluded")
    manifest._path = path
    return manifest


def find_manifests(root: Path | None = None) -> list[Manifest]:
    """Every manifest under the snapshot root, in a stable (path) order."""
    base = Path(root) if root is not None else SNAPSHOT_ROOT
    return [read_manifest(p) for p in sorted(base.rglob(MANIFEST_NAME))]


def load_manifests(root: Path | None = None) -> list[ManifestEntry]:
    """Every file entry of every manifest under `root` (default: the repository's data/snapshot)."""
    return [entry for manifest in find_manifests(root) for entry in manifest.files]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def payload_for(entry: ManifestEntry, content: bytes) -> RawPayload:
    media_type = mimetypes.guess_type(entry.file)[0] or "application/octet-stream"
    return RawPayload(
        source=entry.source,
        url=entry.url,
        params={"file": entry.file},
        status=200,
        content=content,
        retrieved_at=entry.retrieved_at,
        media_type=media_type,
        published=entry.published.isoformat() if entry.published else None,
        extra=entry.model_dump(mode="json"),
    )


def parse_payload(payload: RawPayload, parsers: dict[str, SnapshotParser],
                  series: dict[str, tuple[str, str]] | None = None) -> pl.DataFrame:
    """`series`: given to parsers that name their rows from the catalog's series map (None for the others)."""
    """Dispatch one snapshot payload to the parser its manifest entry names; check what comes back."""
    name = payload.extra.get("parser")
    label = payload.extra.get("file", payload.url)
    parser = parsers.get(name) if isinstance(name, str) else None
    if parser is None:
        raise SchemaDriftError(f"snapshot file {label}: no parser named {name!r}")
    options = dict(payload.extra.get("options") or {})
    if series is not None:
        options = {"series": dict(series), **options}
    frame = validate_observations(parser(payload, options))
    strays = frame.filter(pl.col("source") != payload.source)
    if strays.height:
        raise SchemaDriftError(
            f"snapshot file {label}: parser {name} emitted source {strays['source'][0]!r}, "
            f"manifest says {payload.source!r}"
        )
    return frame


class SnapshotQuery(SourceQuery):
    """Which part of the snapshot to load: all of it by default, or only some source ids."""

    sources: tuple[str, ...] | None = None
    # Source id → its series map (provider code → catalog indicator and unit), from the catalog; handed to every
    # parser as the option `series`, so manifests keep the files' origin only.
    series: dict[str, dict[str, tuple[str, str]]] = {}


class SnapshotFetcher(Fetcher):
    """Reads the files shipped in data/snapshot/ as if they had just been downloaded."""

    info: ClassVar[SourceInfo] = SourceInfo(
        id="snapshot",
        producer="aitrack (copies of third-party files; each file's producer is in its manifest entry)",
        title="Embedded snapshot of real source files",
        homepage="data/snapshot/README.md",
        licence="per file: see the `licence` of each manifest entry",
        citation="per file: see the `citation` of each manifest entry",
        redistributable=True,
        # The snapshot changes only when the project ships a new one; a live refresh supersedes it.
        cadence_days=365,
    )
    Query: ClassVar[type[SourceQuery]] = SnapshotQuery

    def __init__(self, parsers: dict[str, SnapshotParser], root: Path | None = None,
                 series_parsers: frozenset[str] = frozenset()) -> None:  # fmt: skip
        # The parser table is handed in by the registry (every source's parsers), so this module imports no fetcher;
        # `series_parsers` are the parser keys that take the catalog's series map as their `series` option.
        self.parsers = dict(parsers)
        self.series_parsers = frozenset(series_parsers)
        self.root = Path(root) if root is not None else SNAPSHOT_ROOT

    def extract(self, query: SourceQuery, client: "httpx.Client | None" = None) -> list[RawPayload]:
        wanted = getattr(query, "sources", None)
        payloads = []
        for entry in load_manifests(self.root):
            if wanted is not None and entry.source not in wanted:
                continue
            if not entry.path.is_file():
                raise SchemaDriftError(f"snapshot file {entry.path} is listed in its manifest but missing")
            content = entry.path.read_bytes()
            actual = hashlib.sha256(content).hexdigest()
            if actual != entry.sha256:
                raise SchemaDriftError(
                    f"snapshot file {entry.path}: sha256 {actual} does not match the manifest's {entry.sha256}"
                )
            payloads.append(payload_for(entry, content))
        return payloads

    def transform(self, payloads: list[RawPayload], query: SourceQuery) -> pl.DataFrame:
        maps = getattr(query, "series", {}) or {}
        frames = [
            parse_payload(p, self.parsers, maps.get(p.source, {}) if p.extra.get("parser") in self.series_parsers else None)
            for p in payloads
        ]
        return stack_observations(frames, since=query.since)
