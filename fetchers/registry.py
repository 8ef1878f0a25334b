"""The source registry, the only list of sources: id → provenance, kind, fetcher, snapshot parsers, HTTP policy and
credentials.

Everything else derives from `SOURCES`: the settings (`AITRACK_<ID>_BASE_URL`, `AITRACK_<ID>_API_KEY`), the HTTP
client's per-source policy, the live-source list of `aitrack refresh`, the parser table of the embedded snapshot, the
catalog's source check and the fetcher contract tests. To add a source: write its module, add one `SourceSpec` here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from fetchers import epoch, oecd, openalex, owid, worldbank
from fetchers.base import Fetcher, RawPayload, SourceInfo
from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.curated.sources import CURATED_SOURCES
from fetchers.http import HttpPolicy
from fetchers.snapshot import SnapshotFetcher
from fetchers.user import UserFetcher

SnapshotParser = Callable[[RawPayload, dict[str, Any]], pl.DataFrame]
SourceKind = Literal["live", "curated", "snapshot", "user", "derived"]


@dataclass(frozen=True)
class SourceSpec:
    """One source: what it is (provenance), how it is reached (fetcher, HTTP policy, credentials), how its files parse."""

    info: SourceInfo
    kind: SourceKind
    fetcher: Fetcher | None = None
    # Snapshot parser key (as manifests name it) → parse function; live parsers are the ones `transform` uses.
    parsers: Mapping[str, SnapshotParser] = field(default_factory=dict)
    # Secret settings this source takes, e.g. ("api_key",) → AITRACK_OPENALEX_API_KEY; never logged or stored.
    credentials: tuple[str, ...] = ()
    http: HttpPolicy = field(default_factory=HttpPolicy)
    # True when the source's rows are named from the catalog's series map (`Catalog.series_map`): its Query takes
    # `series`, its snapshot parsers the option `series`, and no module or manifest repeats code → indicator, unit.
    series_from_catalog: bool = False

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def base_url(self) -> str:
        """The provider's own base URL (live sources); `AITRACK_<ID>_BASE_URL` overrides it."""
        return type(self.fetcher).default_base_url if self.kind == "live" and self.fetcher is not None else ""


# Indicators aitrack computes from stored observations (indicators/derive.py); their raw payload lists the inputs.
DERIVED_SOURCE = SourceInfo(
    id="aitrack",
    producer="aitrack",
    title="Indicators derived by aitrack from stored observations (indicators/derive.py)",
    homepage="docs/methodology.md",
    licence="as its inputs",
    citation="aitrack derived indicators; see the inputs listed in the raw payload",
    redistributable=True,
    cadence_days=365,
)

_LIVE: tuple[SourceSpec, ...] = (
    SourceSpec(
        worldbank.WorldBankFetcher.info, "live", worldbank.WorldBankFetcher(),
        parsers={"worldbank.api_json": worldbank.parse_api_json, "worldbank.bulk_csv": worldbank.parse_bulk_csv,
                 "worldbank.derived_wide_csv": worldbank.parse_derived_wide_csv},
        series_from_catalog=True,
    ),
    SourceSpec(
        openalex.OpenAlexFetcher.info, "live", openalex.OpenAlexFetcher(),
        parsers={"openalex.group_by_json": openalex.parse_group_by_json},
        credentials=("api_key",),
        http=HttpPolicy(key_param="api_key", contact_param="mailto"),
    ),
    SourceSpec(
        oecd.OecdFetcher.info, "live", oecd.OecdFetcher(),
        parsers={"oecd.sdmx_csv": oecd.parse_sdmx_csv},
        # The OECD allows 60 downloads an hour: inside this window a cached body is reused without asking again.
        http=HttpPolicy(cache_max_age_s=3600.0),
    ),
    SourceSpec(owid.OwidFetcher.info, "live", owid.OwidFetcher(), parsers={"owid.grapher_csv": owid.parse_grapher_csv},
               series_from_catalog=True),
    SourceSpec(epoch.EpochFetcher.info, "live", epoch.EpochFetcher(), parsers={"epoch.models_csv": epoch.parse_models_csv}),
)


def _parser_table(specs: tuple[SourceSpec, ...]) -> dict[str, SnapshotParser]:
    table: dict[str, SnapshotParser] = {}
    for spec in specs:
        clash = set(table) & set(spec.parsers)
        if clash:
            raise RuntimeError(f"snapshot parser registered twice: {sorted(clash)}")
        table.update(spec.parsers)
    clash = set(table) & set(CURATED_PARSERS)
    if clash:
        raise RuntimeError(f"snapshot parser registered twice: {sorted(clash)}")
    return {**table, **CURATED_PARSERS}


# Parser key → function, for every file format the snapshot holds (live formats and curated tables alike).
SNAPSHOT_PARSERS: dict[str, SnapshotParser] = _parser_table(_LIVE)

SOURCES: dict[str, SourceSpec] = {
    spec.id: spec
    for spec in (
        *_LIVE,
        *(SourceSpec(info, "curated") for info in CURATED_SOURCES.values()),
        SourceSpec(SnapshotFetcher.info, "snapshot", SnapshotFetcher(SNAPSHOT_PARSERS, series_parsers=frozenset(
            name for spec in _LIVE if spec.series_from_catalog for name in spec.parsers
        ))),
        SourceSpec(UserFetcher.info, "user", UserFetcher()),
        SourceSpec(DERIVED_SOURCE, "derived"),
    )
}
if len(SOURCES) != len(_LIVE) + len(CURATED_SOURCES) + 3:
    raise RuntimeError("a source id is registered twice")

LIVE_SOURCE_IDS: tuple[str, ...] = tuple(sid for sid, spec in SOURCES.items() if spec.kind == "live")
# Ids an observation may carry as its `source`: every registered source except the snapshot loader itself (snapshot
# rows carry their real source id, so that a live refresh supersedes them).
OBSERVATION_SOURCE_IDS: tuple[str, ...] = tuple(sid for sid, spec in SOURCES.items() if spec.kind != "snapshot")


def source(source_id: str) -> SourceSpec:
    try:
        return SOURCES[source_id]
    except KeyError:
        raise KeyError(f"no source {source_id!r}; known: {', '.join(sorted(SOURCES))}") from None


def fetchers() -> dict[str, Fetcher]:
    """Source id → fetcher, for the sources that have one (live, snapshot, user)."""
    return {sid: spec.fetcher for sid, spec in SOURCES.items() if spec.fetcher is not None}


def http_policies(**overrides: Any) -> dict[str, HttpPolicy]:
    """Every source's HTTP policy, with fields overridden for all of them (tests: `min_interval_s=0`)."""
    return {sid: spec.http.model_copy(update=overrides) for sid, spec in SOURCES.items()}
