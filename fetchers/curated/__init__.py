"""Curated sources with no live API (NCSES, TOP500, UN voting, V-Dem, Freedom House, Pew, Open Doors, OECD.AI) and the `snapshot` and `user` fetchers: files in, observation frames out."""

from __future__ import annotations

from fetchers.base import Fetcher
from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.curated.snapshot import ManifestEntry, SnapshotFetcher, load_manifests
from fetchers.curated.sources import CURATED_SOURCES
from fetchers.curated.user import UserFetcher, UserFileError, UserImport, parse_user_csv

CURATED_FETCHERS: dict[str, Fetcher] = {
    SnapshotFetcher.info.id: SnapshotFetcher(),
    UserFetcher.info.id: UserFetcher(),
}

__all__ = [
    "CURATED_FETCHERS",
    "CURATED_PARSERS",
    "CURATED_SOURCES",
    "ManifestEntry",
    "SnapshotFetcher",
    "UserFetcher",
    "UserFileError",
    "UserImport",
    "load_manifests",
    "parse_user_csv",
]
