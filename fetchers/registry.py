"""Fetcher ids → fetcher instances, and snapshot parser names → the parse functions the live fetchers also use."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from fetchers import epoch, oecd, openalex, owid, worldbank
from fetchers.base import Fetcher, RawPayload, SourceInfo

SnapshotParser = Callable[[RawPayload, dict], pl.DataFrame]

LIVE_FETCHERS: dict[str, Fetcher] = {
    "worldbank": worldbank.WorldBankFetcher(),
    "openalex": openalex.OpenAlexFetcher(),
    "oecd": oecd.OecdFetcher(),
    "owid": owid.OwidFetcher(),
    "epoch": epoch.EpochFetcher(),
}

# The same functions the live `transform`s call: a snapshot file and a live download are parsed by one code path.
LIVE_PARSERS: dict[str, SnapshotParser] = {
    "worldbank.api_json": worldbank.parse_api_json,
    "worldbank.bulk_csv": worldbank.parse_bulk_csv,
    "worldbank.derived_wide_csv": worldbank.parse_derived_wide_csv,
    "owid.grapher_csv": owid.parse_grapher_csv,
    "epoch.models_csv": epoch.parse_models_csv,
    "openalex.group_by_json": openalex.parse_group_by_json,
    "oecd.sdmx_csv": oecd.parse_sdmx_csv,
}

from fetchers.curated import CURATED_FETCHERS, CURATED_PARSERS, CURATED_SOURCES

_clash = (set(LIVE_FETCHERS) & set(CURATED_FETCHERS)) | (set(LIVE_PARSERS) & set(CURATED_PARSERS))
if _clash:
    raise RuntimeError(f"fetcher or parser registered twice: {sorted(_clash)}")

FETCHERS: dict[str, Fetcher] = {**LIVE_FETCHERS, **CURATED_FETCHERS}
SNAPSHOT_PARSERS: dict[str, SnapshotParser] = {**LIVE_PARSERS, **CURATED_PARSERS}
# Provenance of every source id an observation can carry: live fetchers, curated providers, snapshot and user.
SOURCE_INFO: dict[str, SourceInfo] = {
    **{sid: f.info for sid, f in FETCHERS.items()},
    **CURATED_SOURCES,
}


def get_fetcher(source_id: str) -> Fetcher:
    try:
        return FETCHERS[source_id]
    except KeyError:
        raise KeyError(f"no fetcher '{source_id}'; known: {', '.join(sorted(FETCHERS))}") from None
