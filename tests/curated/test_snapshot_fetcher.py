"""The snapshot fetcher end to end: manifests → sha-checked payloads → parsers → one valid observation frame."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from contracts.kinds import OBSERVED_KINDS as HISTORY_KINDS
from contracts.observations import validate_observations
from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.registry import SNAPSHOT_PARSERS, SOURCES
from fetchers.snapshot import SnapshotFetcher, SnapshotQuery, parse_payload
from fetchers.errors import SchemaDriftError

from .conftest import CURATED_ROOT, snapshot_payload

EXPECTED_INDICATORS = {
    "stay_rate_5yr", "stay_intention_rate", "doctorates_temp_visa_china", "ai_vc_investment_ncses",
    "ai_vc_companies", "kti_exports", "kti_value_added", "ict_manufacturing_value_added",
    "it_services_value_added", "gerd_ppp_usd", "ai_patents_granted", "ai_papers_us_china_coauthored",
    "top500_systems", "top500_rmax_share", "unga_states_closer", "unga_mean_agreement",
    "liberal_democracy", "electoral_democracy", "freedom_house_total", "favourability",
    "chinese_students_us", "ai_vc_investment",
    "cis_top1pct_share_frac", "cis_top1pct_share_whole", "se_top1pct_share_frac", "se_top1pct_share_full",
    "se_top5pct_share_full", "se_top10pct_share_full", "gpu_cluster_capacity_h100e",
}


@pytest.fixture(scope="module")
def curated_frame() -> pl.DataFrame:
    fetcher = SnapshotFetcher(SNAPSHOT_PARSERS, CURATED_ROOT)
    return fetcher.transform(fetcher.extract(SnapshotQuery()), SnapshotQuery())


def test_curated_snapshot_passes_the_observation_contract(curated_frame):
    assert validate_observations(curated_frame).height == curated_frame.height > 0


def test_curated_snapshot_covers_every_curated_indicator(curated_frame):
    assert set(curated_frame["indicator"].unique()) == EXPECTED_INDICATORS


def test_payloads_carry_the_manifest_provenance():
    payloads = SnapshotFetcher(SNAPSHOT_PARSERS, CURATED_ROOT).extract(SnapshotQuery(sources=("pew",)))
    assert len(payloads) == 1
    payload = payloads[0]
    assert payload.url.startswith("https://")
    assert payload.extra["file"] == "TRUMPWORLD-us.csv" and payload.extra["parser"] == "curated.pew_favourability"
    assert payload.sha256 == payload.extra["sha256"]
    assert payload.retrieved_at.isoformat() == f"{payload.extra['retrieved']}T00:00:00+00:00"


def test_observations_carry_sha256_and_vintage_of_their_file(curated_frame):
    for payload in SnapshotFetcher(SNAPSHOT_PARSERS, CURATED_ROOT).extract(SnapshotQuery()):
        rows = curated_frame.filter(pl.col("snapshot_id") == payload.sha256)
        assert rows.height > 0, payload.extra["file"]
        expected_vintage = payload.extra["published"] or payload.extra["retrieved"]
        assert set(rows["vintage"]) == {expected_vintage}
        assert set(rows["source"]) == {payload.source}


def test_since_and_sources_filter():
    fetcher = SnapshotFetcher(SNAPSHOT_PARSERS, CURATED_ROOT)
    query = SnapshotQuery(since=2015, sources=("unga", "pew"))
    frame = fetcher.transform(fetcher.extract(query), query)
    assert set(frame["source"]) == {"unga", "pew"}
    assert frame["year"].min() == 2015


def test_curated_files_state_history_not_intentions(curated_frame):
    # Curated files report what happened (OECD.AI's partial current year and Epoch's partial 2025 are
    # `provisional`, still history);
    # none of them carries targets, pledges, claims or projections.
    assert curated_frame.filter(~pl.col("value_kind").is_in(HISTORY_KINDS)).height == 0
    assert set(curated_frame.filter(pl.col("value_kind") == "provisional")["source"]) == {"oecd_ai", "epoch_clusters"}


def test_unknown_parser_is_a_schema_drift():
    payload = snapshot_payload("pew", "TRUMPWORLD-us.csv")
    broken = type(payload)(**{**payload.__dict__, "extra": {**payload.extra, "parser": "curated.nope"}})
    with pytest.raises(SchemaDriftError, match="curated.nope"):
        parse_payload(broken, CURATED_PARSERS)


def test_a_parser_emitting_another_source_than_its_manifest_is_a_schema_drift():
    payload = snapshot_payload("pew", "TRUMPWORLD-us.csv")
    pew_frame = CURATED_PARSERS["curated.pew_favourability"](payload, {})
    relabelled = type(payload)(**{**payload.__dict__, "source": "not_pew"})
    with pytest.raises(SchemaDriftError, match="not_pew"):
        parse_payload(relabelled, {"curated.pew_favourability": lambda p, o: pew_frame})


def test_parser_lookup_includes_every_curated_parser():
    for name, parser in CURATED_PARSERS.items():
        assert SNAPSHOT_PARSERS[name] is parser


def test_registered_fetchers():
    assert SOURCES["snapshot"].fetcher.info.id == "snapshot"
    assert SOURCES["user"].fetcher.info.id == "user"


def test_whole_snapshot_passes_the_contract():
    from aitrack.jobs.ingest import series_maps
    from indicators.catalog import load_catalog

    fetcher = SOURCES["snapshot"].fetcher
    query = SnapshotQuery(series=series_maps(load_catalog()))
    frame = fetcher.transform(fetcher.extract(query), query)
    # Every row is named by the catalog: no World Bank code falls back to an uncatalogued `wdi_…` id.
    assert not frame.filter(pl.col("indicator").str.starts_with("wdi_")).height
    assert validate_observations(frame).height == frame.height > 0
    assert EXPECTED_INDICATORS <= set(frame["indicator"].unique())


def test_an_empty_root_yields_an_empty_frame(tmp_path):
    fetcher = SnapshotFetcher(SNAPSHOT_PARSERS, tmp_path)
    assert fetcher.transform(fetcher.extract(SnapshotQuery()), SnapshotQuery()).height == 0


def test_a_copied_directory_loads_from_another_root(tmp_path):
    shutil.copytree(CURATED_ROOT / "unga", tmp_path / "unga")
    fetcher = SnapshotFetcher(SNAPSHOT_PARSERS, tmp_path)
    frame = fetcher.transform(fetcher.extract(SnapshotQuery()), SnapshotQuery())
    assert set(frame["indicator"]) == {"unga_states_closer", "unga_mean_agreement"}
