"""OECD SDMX-CSV → MSTI and AI-patent observations; key building, cache + conditional requests, retries, drift."""

from __future__ import annotations

import httpx
import polars as pl
import pytest
import respx

from tests.fetchers.conftest import SNAPSHOT, fixture_bytes, payload
from contracts.observations import validate_observations
from fetchers.errors import EmptyDataError, SchemaDriftError
from fetchers.oecd import DATAFLOWS, OecdFetcher, OecdQuery, parse_sdmx_csv

BASE = OecdFetcher.default_base_url
MSTI = (SNAPSHOT / "oecd" / "msti_gerd_goverd_herd_pct_gdp_USA_CHN_sdmx.csv").read_bytes()
PATENTS = fixture_bytes("oecd", "layout_only_ai_patents.csv")
MSTI_PATH = "/data/OECD.STI.STP,DSD_MSTI@DF_MSTI,1.0/USA+CHN.A.G+GV+H+T_RS..."
PATENT_PATH = "/data/OECD.STI.PIE,DSD_PATENTS@DF_PATENTS_OECDSPECIFIC,1.0/9P50_3.A.PF.PATN_FM.PRIORITY.USA+CHN._Z.INVENTOR._Z._Z.AI"


def value(frame: pl.DataFrame, indicator: str, country: str, year: int) -> float:
    rows = frame.filter((pl.col("indicator") == indicator) & (pl.col("country") == country) & (pl.col("year") == year))
    assert rows.height == 1, rows
    return rows["value"][0]


def test_msti_snapshot_gives_three_indicators_with_sources_md_values():
    frame = parse_sdmx_csv(payload(MSTI, "oecd"), {})
    validate_observations(frame)
    assert set(frame["indicator"]) == {"gerd_pct_gdp", "goverd_pct_gdp", "herd_pct_gdp"}
    assert value(frame, "gerd_pct_gdp", "USA", 2021) == pytest.approx(3.457, abs=5e-4)  # SOURCES.md sample
    assert value(frame, "gerd_pct_gdp", "CHN", 2020) == pytest.approx(2.407, abs=5e-4)
    assert frame.height == 3 * 2 * 12
    assert set(frame["source_series"]) >= {"DSD_MSTI@DF_MSTI:MEASURE=G.UNIT_MEASURE=PT_B1GQ"}


def test_label_columns_are_not_mistaken_for_codes():
    # "Measure" (a label column) holds text; only the MEASURE code column may select rows.
    frame = parse_sdmx_csv(payload(MSTI.replace(b",G,Gross", b",G,H"), "oecd"), {})
    assert value(frame, "gerd_pct_gdp", "CHN", 2010) == pytest.approx(1.713721488)


def test_patent_layout_selects_ip5_families_by_inventor():
    frame = parse_sdmx_csv(payload(PATENTS, "oecd"), {})
    assert set(frame["indicator"]) == {"ai_patent_families_ip5"}
    assert set(frame["country"]) == {"USA", "CHN"}


def test_other_measures_are_ignored_and_custom_series_work():
    frame = parse_sdmx_csv(payload(MSTI, "oecd"), {"series": [{"match": {"MEASURE": "H"}, "indicator": "herd_pct_gdp",
                                                                "unit": "pct_gdp"}]})
    assert set(frame["indicator"]) == {"herd_pct_gdp"} and frame.height == 24


def test_not_sdmx_csv_is_schema_drift():
    with pytest.raises(SchemaDriftError, match="not SDMX-CSV"):
        parse_sdmx_csv(payload(b"<html>maintenance</html>", "oecd"), {})


def test_renamed_column_is_schema_drift():
    with pytest.raises(SchemaDriftError, match="OBS_VALUE"):
        parse_sdmx_csv(payload(MSTI.replace(b"OBS_VALUE", b"VALUE", 1), "oecd"), {})


def test_truncated_body_is_schema_drift():
    with pytest.raises(SchemaDriftError, match="cells"):
        parse_sdmx_csv(payload(MSTI[: MSTI.index(b"\r\n", 2000) + 60], "oecd"), {})


def test_ambiguous_series_match_is_schema_drift():
    with pytest.raises(SchemaDriftError, match="ambiguous"):
        parse_sdmx_csv(payload(MSTI, "oecd"), {"series": [{"match": {}, "indicator": "x", "unit": "pct_gdp"}]})


def test_keys_follow_the_dataflow_dimension_order():
    assert DATAFLOWS["msti"].path(("USA", "CHN")) == MSTI_PATH
    assert DATAFLOWS["ai_patents"].path(("USA", "CHN")) == PATENT_PATH


# -- over HTTP -------------------------------------------------------------------------------------------------


@respx.mock(base_url=BASE, assert_all_called=True)
def test_fetcher_requests_csv_with_labels_and_dates_from_last_modified(respx_mock, fast_client):
    msti = respx_mock.get(MSTI_PATH).mock(return_value=httpx.Response(
        200, content=MSTI, headers={"Last-Modified": "Tue, 14 Jan 2025 10:00:00 GMT", "Content-Type": "application/vnd.sdmx.data+csv"}))
    respx_mock.get(PATENT_PATH).mock(return_value=httpx.Response(200, content=PATENTS))
    fetcher = OecdFetcher()
    query = OecdQuery(since=2010)
    with fast_client(OecdFetcher) as client:
        payloads = fetcher.extract(query, client)
    params = msti.calls[0].request.url.params
    assert params["format"] == "csvfilewithlabels" and params["startPeriod"] == "2010"
    frame = fetcher.transform(payloads, query)
    assert set(frame.filter(pl.col("indicator") == "gerd_pct_gdp")["vintage"]) == {"2025-01-14"}
    assert {"gerd_pct_gdp", "ai_patent_families_ip5"} <= set(frame["indicator"])


@respx.mock(base_url=BASE)
def test_fetcher_caches_on_disk_and_revalidates_with_etag(respx_mock, fast_client, tmp_path):
    route = respx_mock.get(MSTI_PATH).mock(side_effect=[
        httpx.Response(200, content=MSTI, headers={"ETag": '"msti-1"'}),
        httpx.Response(304),
    ])
    query = OecdQuery(dataflows=("msti",))
    fetcher = OecdFetcher()
    with fast_client(OecdFetcher, cache_dir=tmp_path, cache_max_age={"oecd": 0.0}) as client:
        first = fetcher.extract(query, client)
        second = fetcher.extract(query, client)
    assert route.calls[1].request.headers["if-none-match"] == '"msti-1"'
    assert first[0].content == second[0].content == MSTI
    assert any(tmp_path.rglob("*.body"))


@respx.mock(base_url=BASE)
def test_fetcher_within_an_hour_uses_the_cache_without_a_download(respx_mock, fast_client, tmp_path):
    route = respx_mock.get(MSTI_PATH).mock(return_value=httpx.Response(200, content=MSTI))
    query = OecdQuery(dataflows=("msti",))
    with fast_client(OecdFetcher, cache_dir=tmp_path) as client:
        OecdFetcher().extract(query, client)
        OecdFetcher().extract(query, client)
    assert route.call_count == 1


@respx.mock(base_url=BASE)
def test_fetcher_429_then_503s_then_success(respx_mock, fast_client):
    route = respx_mock.get(MSTI_PATH).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "4"}), httpx.Response(503), httpx.Response(503),
        httpx.Response(200, content=MSTI)])
    with fast_client(OecdFetcher) as client:
        payloads = OecdFetcher().extract(OecdQuery(dataflows=("msti",)), client)
    assert route.call_count == 4 and fast_client.sleeps[0] == 4.0 and payloads[0].content == MSTI


@respx.mock(base_url=BASE)
def test_no_records_is_empty_data(respx_mock, fast_client):
    respx_mock.get(MSTI_PATH).mock(return_value=httpx.Response(404, text="NoRecordsFound"))
    with fast_client(OecdFetcher) as client, pytest.raises(EmptyDataError):
        OecdFetcher().extract(OecdQuery(dataflows=("msti",)), client)


@respx.mock(base_url=BASE)
def test_header_only_is_empty_data(respx_mock, fast_client):
    respx_mock.get(MSTI_PATH).mock(return_value=httpx.Response(200, content=MSTI.split(b"\r\n", 1)[0] + b"\r\n"))
    fetcher = OecdFetcher()
    query = OecdQuery(dataflows=("msti",))
    with fast_client(OecdFetcher) as client:
        payloads = fetcher.extract(query, client)
    with pytest.raises(EmptyDataError):
        fetcher.transform(payloads, query)


def test_query_is_strict():
    with pytest.raises(ValueError):
        OecdQuery(dataflows=("eo",))
    with pytest.raises(ValueError):
        OecdQuery(countries=("US",))
    with pytest.raises(ValueError):
        OecdQuery(key="all")
