"""World Bank: API JSON pages and bulk CSV → observations; paging, error-in-200, retries, schema drift."""

from __future__ import annotations

import json

import httpx
import polars as pl
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fetchers.conftest import SNAPSHOT, fixture_bytes, payload
from contracts.observations import validate_observations
from fetchers.errors import EmptyDataError, SchemaDriftError, SourceQueryError
from indicators.catalog import load_catalog
from fetchers.worldbank import (
    WorldBankFetcher,
    WorldBankQuery,
    parse_api_json,
    parse_bulk_csv,
    parse_derived_wide_csv,
)

BASE = WorldBankFetcher.default_base_url
GERD_PATH = "/v2/country/USA;CHN;WLD/indicator/GB.XPD.RSDV.GD.ZS"
ERROR_BODY = json.dumps([{"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}])
EMPTY_BODY = json.dumps([{"page": 1, "pages": 0, "per_page": 1000, "total": 0, "sourceid": "2", "lastupdated": "2026-07-13"}, None])
# The catalog names the World Bank series (the one code → indicator, unit map); the application hands it in.
SERIES = load_catalog().series_map("worldbank")
OPTIONS = {"series": SERIES}
GERD_QUERY = WorldBankQuery(series=SERIES, indicators=("GB.XPD.RSDV.GD.ZS",), since=2015)


def bulk_payload(name: str):
    return payload((SNAPSHOT / "worldbank" / name).read_bytes(), "worldbank")


def value(frame: pl.DataFrame, country: str, year: int, indicator: str | None = None) -> float:
    rows = frame.filter((pl.col("country") == country) & (pl.col("year") == year))
    if indicator:
        rows = rows.filter(pl.col("indicator") == indicator)
    assert rows.height == 1, rows
    return rows["value"][0]


# -- parsers ---------------------------------------------------------------------------------------------


def test_api_page_parses_values_skips_nulls_and_dates_the_vintage():
    frame = parse_api_json(payload(fixture_bytes("worldbank", "gerd_page1.json"), "worldbank"), OPTIONS)
    raw_rows = json.loads(fixture_bytes("worldbank", "gerd_page1.json"))[1]
    non_null = [r for r in raw_rows if r["value"] is not None]
    assert frame.height == len(non_null) < len(raw_rows)
    assert set(frame["indicator"]) == {"gerd_pct_gdp"} and set(frame["unit"]) == {"pct_gdp"}
    assert set(frame["vintage"]) == {"2026-07-13"}
    assert set(frame["source_series"]) == {"GB.XPD.RSDV.GD.ZS"}
    validate_observations(frame)


def test_api_values_match_the_bulk_csv_of_the_same_release():
    api = pl.concat([parse_api_json(payload(fixture_bytes("worldbank", f"gerd_page{n}.json"), "worldbank"), OPTIONS) for n in (1, 2)])
    bulk = parse_bulk_csv(bulk_payload("API_GB.XPD.RSDV.GD.ZS_DS2_en_csv_v2_232.csv"), OPTIONS)
    joined = api.join(bulk, on=["country", "year"], suffix="_bulk")
    assert joined.height == api.height
    assert (joined["value"] == joined["value_bulk"]).all()
    # SOURCES.md sample values of this release
    assert value(api, "USA", 2023) == pytest.approx(3.44716)
    assert value(api, "CHN", 2023) == pytest.approx(2.57729)


def test_real_api_example_drops_aggregates_and_keeps_lastupdated():
    frame = parse_api_json(payload(fixture_bytes("worldbank", "trase_gdp_example.json"), "worldbank"), OPTIONS)
    assert frame["country"].to_list() == ["ARG"]  # CSS, CEB, EAR are World Bank aggregates
    assert frame["vintage"].to_list() == ["2020-03-18"]
    assert frame["indicator"].to_list() == ["gdp_usd"]


def test_error_body_with_http_200_is_a_query_error():
    with pytest.raises(SourceQueryError, match="Invalid value"):
        parse_api_json(payload(ERROR_BODY.encode(), "worldbank"), OPTIONS)


def test_truncated_json_is_schema_drift():
    content = fixture_bytes("worldbank", "gerd_page1.json")
    with pytest.raises(SchemaDriftError):
        parse_api_json(payload(content[: len(content) // 2], "worldbank"), OPTIONS)


def test_renamed_field_is_schema_drift():
    text = fixture_bytes("worldbank", "gerd_page1.json").decode().replace('"countryiso3code"', '"countryIso3"')
    with pytest.raises(SchemaDriftError, match="countryiso3code"):
        parse_api_json(payload(text.encode(), "worldbank"), OPTIONS)


@settings(max_examples=50)
@given(st.lists(st.tuples(st.sampled_from(["USA", "CHN", "WLD", "EAS", "HIC"]), st.integers(1960, 2025),
                          st.one_of(st.none(), st.floats(min_value=-1e15, max_value=1e15, allow_nan=False))),
                unique_by=lambda t: (t[0], t[1])))
def test_every_non_null_country_row_survives_with_its_value(rows):
    document = [{"page": 1, "pages": 1, "per_page": 1000, "total": len(rows), "lastupdated": "2026-07-13"},
                [{"indicator": {"id": "SP.POP.TOTL", "value": "Population, total"}, "country": {"id": "x", "value": "x"},
                  "countryiso3code": c, "date": str(y), "value": v, "unit": "", "obs_status": "", "decimal": 0}
                 for c, y, v in rows]]
    frame = parse_api_json(payload(json.dumps(document).encode(), "worldbank"), {})
    expected = {(c, y): v for c, y, v in rows if v is not None and c in ("USA", "CHN", "WLD")}
    assert {(r["country"], r["year"]): r["value"] for r in frame.iter_rows(named=True)} == expected


def test_bulk_csv_reads_preamble_date_and_all_countries():
    frame = parse_bulk_csv(bulk_payload("API_SP.POP.TOTL_DS2_en_csv_v2_45183.csv"), {"indicator": "population", "unit": "people"})
    assert set(frame["vintage"]) == {"2024-05-30"}
    assert value(frame, "CHN", 2022) == 1412175000  # SOURCES.md sample
    assert value(frame, "USA", 2022) == 333287557
    assert "WLD" in set(frame["country"]) and "HIC" not in set(frame["country"]) and "XKX" not in set(frame["country"])
    assert frame["country"].n_unique() > 150
    validate_observations(frame)


def test_every_label_in_the_bulk_files_is_mapped_or_listed(caplog):
    for path in sorted((SNAPSHOT / "worldbank").glob("API_*.csv")):
        parse_bulk_csv(payload(path.read_bytes(), "worldbank"), {})
    assert "not in any country mapping" not in caplog.text


def test_bulk_csv_cut_mid_file_is_schema_drift():
    content = (SNAPSHOT / "worldbank" / "API_GB.XPD.RSDV.GD.ZS_DS2_en_csv_v2_232.csv").read_bytes()
    cut = content[: content.index(b'"China"') + 200]
    with pytest.raises(SchemaDriftError, match="cells"):
        parse_bulk_csv(payload(cut, "worldbank"), {})


def test_bulk_csv_with_renamed_header_is_schema_drift():
    content = (SNAPSHOT / "worldbank" / "API_GB.XPD.RSDV.GD.ZS_DS2_en_csv_v2_232.csv").read_bytes()
    with pytest.raises(SchemaDriftError):
        parse_bulk_csv(payload(content.replace(b'"Country Code"', b'"Country ISO3"'), "worldbank"), {})


def test_derived_gdp_file_reads_the_named_columns():
    frame = parse_derived_wide_csv(
        bulk_payload("derived_gdp_current_usd_usa_chn_wld_from_vdem3.csv"),
        {"indicator": "gdp_usd", "unit": "usd", "source_series": "NY.GDP.MKTP.CD",
         "columns": {"USA_gdp_current_usd": "USA", "CHN_gdp_current_usd": "CHN", "WLD_gdp_current_usd": "WLD"}},
    )
    assert value(frame, "USA", 2024) == pytest.approx(29_184_890_000_000)  # SOURCES.md sample
    assert value(frame, "CHN", 2000) == pytest.approx(1_223_754_919_971, rel=1e-9)
    assert set(frame["country"]) == {"USA", "CHN", "WLD"}
    assert frame.filter(pl.col("country") == "USA")["year"].min() == 1960


# -- the fetcher over HTTP (respx; no network) -----------------------------------------------------------------


def gerd_page(request: httpx.Request) -> httpx.Response:
    page = request.url.params.get("page", "1")
    return httpx.Response(200, content=fixture_bytes("worldbank", f"gerd_page{page}.json"))


@respx.mock(base_url=BASE, assert_all_called=True)
def test_fetcher_follows_pages_and_builds_one_frame(respx_mock, fast_client):
    route = respx_mock.get(GERD_PATH).mock(side_effect=gerd_page)
    fetcher = WorldBankFetcher()
    with fast_client(WorldBankFetcher) as client:
        payloads = fetcher.extract(GERD_QUERY, client)
    assert route.call_count == 2
    assert [p.extra["page"] for p in payloads] == [1, 2]
    assert route.calls[0].request.url.params["date"].startswith("2015:")
    frame = fetcher.transform(payloads, GERD_QUERY)
    assert frame.height == sum(
        1 for n in (1, 2) for r in json.loads(fixture_bytes("worldbank", f"gerd_page{n}.json"))[1] if r["value"] is not None)
    assert frame.select("country", "year").is_duplicated().sum() == 0
    assert all("api_key" not in p.url for p in payloads)


@respx.mock(base_url=BASE)
def test_fetcher_empty_result_is_empty_data(respx_mock, fast_client):
    respx_mock.get(GERD_PATH).mock(return_value=httpx.Response(200, text=EMPTY_BODY))
    fetcher = WorldBankFetcher()
    with fast_client(WorldBankFetcher) as client:
        payloads = fetcher.extract(GERD_QUERY, client)
    with pytest.raises(EmptyDataError):
        fetcher.transform(payloads, GERD_QUERY)


@respx.mock(base_url=BASE)
def test_fetcher_error_in_200_stops_with_query_error(respx_mock, fast_client):
    route = respx_mock.get(GERD_PATH).mock(return_value=httpx.Response(200, text=ERROR_BODY))
    with fast_client(WorldBankFetcher) as client, pytest.raises(SourceQueryError, match="not valid"):
        WorldBankFetcher().extract(GERD_QUERY, client)
    assert route.call_count == 1


@respx.mock(base_url=BASE)
def test_fetcher_429_with_retry_after_then_success(respx_mock, fast_client):
    respx_mock.get("/v2/country/USA;CHN;WLD/indicator/SP.POP.TOTL").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(200, content=fixture_bytes("worldbank", "population.json")),
    ])
    query = WorldBankQuery(series=SERIES, indicators=("SP.POP.TOTL",))
    fetcher = WorldBankFetcher()
    with fast_client(WorldBankFetcher) as client:
        frame = fetcher.transform(fetcher.extract(query, client), query)
    assert fast_client.sleeps == [1.0]
    assert value(frame, "CHN", 2022) == 1412175000


@respx.mock(base_url=BASE)
def test_fetcher_503_twice_then_success(respx_mock, fast_client):
    route = respx_mock.get("/v2/country/USA;CHN;WLD/indicator/SP.POP.TOTL").mock(side_effect=[
        httpx.Response(503), httpx.Response(503),
        httpx.Response(200, content=fixture_bytes("worldbank", "population.json")),
    ])
    query = WorldBankQuery(series=SERIES, indicators=("SP.POP.TOTL",))
    with fast_client(WorldBankFetcher) as client:
        payloads = WorldBankFetcher().extract(query, client)
    assert route.call_count == 3 and len(fast_client.sleeps) == 2
    assert len(payloads) == 1


@respx.mock(base_url=BASE)
def test_fetcher_404_is_query_error(respx_mock, fast_client):
    respx_mock.get(GERD_PATH).mock(return_value=httpx.Response(404, text="not found"))
    with fast_client(WorldBankFetcher) as client, pytest.raises(SourceQueryError, match="404"):
        WorldBankFetcher().extract(GERD_QUERY, client)


def test_base_url_override_reaches_the_mirror(fast_client):
    with respx.mock(base_url="http://127.0.0.1:8765") as mirror:
        route = mirror.get(GERD_PATH).mock(side_effect=gerd_page)
        with fast_client(WorldBankFetcher, base_urls={"worldbank": "http://127.0.0.1:8765"}) as client:
            WorldBankFetcher().extract(GERD_QUERY, client)
    assert route.call_count == 2
    assert route.calls[0].request.url.params["format"] == "json"


def test_query_is_typed_and_strict():
    with pytest.raises(ValueError):
        WorldBankQuery(indicators=("GB.XPD.RSDV.GD.ZS",), colour="red")
    with pytest.raises(ValueError):
        WorldBankQuery(indicators=("drop table",))
    with pytest.raises(ValueError):
        WorldBankQuery(countries=("US",))
    assert WorldBankQuery(indicators=("IP.PAT.RESD",)).indicators == ("IP.PAT.RESD",)


def test_uncatalogued_wdi_code_keeps_its_own_name():
    text = fixture_bytes("worldbank", "population.json").decode().replace("SP.POP.TOTL", "SP.POP.XYZ")
    frame = parse_api_json(payload(text.encode(), "worldbank"), OPTIONS)
    assert set(frame["indicator"]) == {"wdi_sp_pop_xyz"} and set(frame["source_series"]) == {"SP.POP.XYZ"}


def test_negative_balance_of_payments_values_are_left_out_not_fatal(caplog):
    """The WDI 2021 release has Guinea's IP receipts at -1450000 for 2013 (a reversal, not a receipt): that one value
    is left out and logged; every other row of the file is kept."""
    frame = parse_bulk_csv(bulk_payload("API_BX.GSR.ROYL.CD_from_WDI_topic14_2021-09-15.csv"), OPTIONS)
    assert frame.filter((pl.col("country") == "GIN") & (pl.col("year") == 2013)).height == 0
    assert frame.filter(pl.col("country") == "GIN").height > 0
    assert (frame["value"] >= 0).all()
    assert value(frame, "CHN", 2020) == pytest.approx(8554460469.53)  # worldbank_wdi/SOURCES.md
    assert "GIN 2013=-1.45e+06" in caplog.text
