"""The contract every registered fetcher keeps; and the snapshot parsers are the live parsers, not copies."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from tests.fetchers.conftest import SNAPSHOT, fixture_bytes, payload
from contracts.observations import validate_observations
from fetchers import epoch, oecd, openalex, owid, worldbank
from fetchers.base import Fetcher, RawPayload, SourceInfo, SourceQuery
from indicators.catalog import load_catalog
from fetchers.registry import LIVE_SOURCE_IDS, SNAPSHOT_PARSERS, SOURCES, fetchers

FETCHERS = fetchers()
LIVE_FETCHERS = {sid: SOURCES[sid].fetcher for sid in LIVE_SOURCE_IDS}
LIVE_PARSERS = {name: fn for sid in LIVE_SOURCE_IDS for name, fn in SOURCES[sid].parsers.items()}


def _worldbank_case():
    return ([payload(fixture_bytes("worldbank", f"gerd_page{n}.json"), "worldbank", extra={"page": n}) for n in (1, 2)],
            worldbank.WorldBankQuery(series=load_catalog().series_map("worldbank"), indicators=("GB.XPD.RSDV.GD.ZS",)))


def _owid_case():
    slug = "private-investment-in-artificial-intelligence"
    return ([payload((SNAPSHOT / "owid" / f"{slug}.csv").read_bytes(), "owid", extra={"slug": slug, "kind": "csv"}),
             payload(fixture_bytes("owid", f"{slug}.metadata.abridged.json"), "owid", extra={"slug": slug, "kind": "metadata"})],
            owid.OwidQuery(series=load_catalog().series_map("owid"), slugs=(slug,)))


def _epoch_case():
    return ([payload((SNAPSHOT / "epoch" / "notable_ai_models_2025-04.csv").read_bytes(), "epoch")], epoch.EpochQuery())


def _openalex_case():
    return ([payload(fixture_bytes("openalex", "ai_2010.json"), "openalex",
                     extra={"indicator": "ai_works_openalex", "group": "country", "year": 2010}),
             payload(fixture_bytes("openalex", "layout_only_group_by_year.json"), "openalex",
                     extra={"indicator": "ai_papers_us_china_coauthored", "group": "year", "country": "XUC"})],
            openalex.OpenAlexQuery(since=2010, until=2010))


def _oecd_case():
    return ([payload((SNAPSHOT / "oecd" / "msti_gerd_goverd_herd_pct_gdp_USA_CHN_sdmx.csv").read_bytes(), "oecd"),
             payload(fixture_bytes("oecd", "layout_only_ai_patents.csv"), "oecd")], oecd.OecdQuery())


def _user_case():
    from pathlib import Path

    fetcher = FETCHERS["user"]
    fixture = Path(__file__).resolve().parents[1] / "curated" / "fixtures" / "user_good.csv"
    query = fetcher.Query(files=(fixture,))
    return fetcher.extract(query, None), query


def _snapshot_case():
    from aitrack.jobs.ingest import series_maps

    fetcher = FETCHERS["snapshot"]
    query = fetcher.Query(sources=("owid", "oecd"), series=series_maps(load_catalog()))
    return fetcher.extract(query, None), query


CONTRACT_CASES: dict[str, Callable[[], tuple[list[RawPayload], SourceQuery]]] = {
    "worldbank": _worldbank_case,
    "owid": _owid_case,
    "epoch": _epoch_case,
    "openalex": _openalex_case,
    "oecd": _oecd_case,
    "snapshot": _snapshot_case,
    "user": _user_case,
}


@pytest.mark.parametrize("source_id", sorted(FETCHERS))
def test_fetcher_declares_info_and_a_strict_query(source_id):
    fetcher = FETCHERS[source_id]
    assert isinstance(fetcher, Fetcher)
    assert isinstance(fetcher.info, SourceInfo) and fetcher.info.id == source_id
    assert fetcher.info.licence and fetcher.info.citation and fetcher.info.cadence_days > 0
    assert issubclass(fetcher.Query, SourceQuery) and issubclass(fetcher.Query, BaseModel)
    with pytest.raises(ValueError):
        fetcher.Query(no_such_parameter=1)


@pytest.mark.parametrize("source_id", sorted(LIVE_FETCHERS))
def test_live_fetcher_has_an_overridable_https_base_url(source_id):
    assert type(LIVE_FETCHERS[source_id]).default_base_url.startswith("https://")


@pytest.mark.parametrize("source_id", sorted(FETCHERS))
def test_transform_of_fixture_is_a_valid_pure_observation_frame(source_id):
    # Every registered fetcher has a contract case: a new source without one fails here, it is not skipped.
    assert source_id in CONTRACT_CASES, f"no contract fixture registered for '{source_id}': add one to CONTRACT_CASES"
    fetcher = FETCHERS[source_id]
    payloads, query = CONTRACT_CASES[source_id]()
    before = copy.deepcopy(payloads)
    first = fetcher.transform(payloads, query)
    second = fetcher.transform(payloads, query)
    assert first.height > 0
    validate_observations(first)
    assert first.equals(second)
    assert payloads == before  # the payloads are not touched
    assert set(first["snapshot_id"]) <= {p.sha256 for p in payloads}


def test_every_live_parser_is_registered_for_the_snapshot():
    for name, parser in LIVE_PARSERS.items():
        assert SNAPSHOT_PARSERS[name] is parser


PARSER_USED_BY_TRANSFORM = {
    "worldbank.api_json": (worldbank, "parse_api_json", "worldbank"),
    "owid.grapher_csv": (owid, "parse_grapher_csv", "owid"),
    "epoch.models_csv": (epoch, "parse_models_csv", "epoch"),
    "openalex.group_by_json": (openalex, "parse_group_by_json", "openalex"),
    "oecd.sdmx_csv": (oecd, "parse_sdmx_csv", "oecd"),
}


@pytest.mark.parametrize("parser_name", sorted(PARSER_USED_BY_TRANSFORM))
def test_the_snapshot_parser_is_the_one_the_live_transform_calls(parser_name, monkeypatch):
    module, function, source_id = PARSER_USED_BY_TRANSFORM[parser_name]
    original = getattr(module, function)
    assert SNAPSHOT_PARSERS[parser_name] is original
    calls: list[RawPayload] = []

    def spy(p, options):
        calls.append(p)
        return original(p, options)

    monkeypatch.setattr(module, function, spy)
    payloads, query = CONTRACT_CASES[source_id]()
    LIVE_FETCHERS[source_id].transform(payloads, query)
    assert calls, f"{source_id}.transform did not call {function}"


def test_snapshot_parse_equals_live_transform_for_the_same_bytes():
    """The OWID snapshot file parsed through the registry gives the rows the live fetcher gives for that body."""
    slug = "private-investment-in-artificial-intelligence"
    content = (SNAPSHOT / "owid" / f"{slug}.csv").read_bytes()
    via_snapshot = SNAPSHOT_PARSERS["owid.grapher_csv"](
        payload(content, "owid", published="2025-04-08"), {"series": load_catalog().series_map("owid"), "slug": slug})
    via_live = LIVE_FETCHERS["owid"].transform(*_owid_case())
    columns = ["indicator", "country", "year", "value", "unit", "value_kind", "source_series", "vintage"]
    assert via_snapshot.select(columns).sort(["country", "year"]).equals(via_live.select(columns).sort(["country", "year"]))


def test_registry_knows_the_five_live_sources():
    assert {"worldbank", "openalex", "oecd", "owid", "epoch"} <= set(FETCHERS)
    assert all(isinstance(FETCHERS[k], Fetcher) for k in FETCHERS)
