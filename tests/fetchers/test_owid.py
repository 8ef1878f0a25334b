"""OWID grapher CSV + metadata → observations; projections, aggregates, retries, schema drift."""

from __future__ import annotations

import httpx
import polars as pl
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fetchers.conftest import SNAPSHOT, fixture_bytes, payload
from contracts.observations import validate_observations
from fetchers.errors import EmptyDataError, SchemaDriftError
from fetchers.owid import OwidFetcher, OwidQuery, parse_grapher_csv, parse_grapher_metadata
from indicators.catalog import load_catalog

BASE = OwidFetcher.default_base_url
QUID = "private-investment-in-artificial-intelligence"


def snapshot_payload(slug: str):
    return payload((SNAPSHOT / "owid" / f"{slug}.csv").read_bytes(), "owid", url=f"https://ourworldindata.org/grapher/{slug}.csv")


# The catalog names the OWID charts (slug → indicator, unit); the application hands the map in.
SERIES = load_catalog().series_map("owid")


def options_for(slug: str) -> dict:
    return {"series": SERIES, "slug": slug}


def one(frame: pl.DataFrame, country: str, year: int) -> dict:
    rows = frame.filter((pl.col("country") == country) & (pl.col("year") == year))
    assert rows.height == 1, rows
    return rows.row(0, named=True)


@pytest.mark.parametrize("slug", sorted(SERIES))
def test_every_snapshot_chart_parses_with_both_countries_and_no_unknown_labels(slug, caplog):
    frame = parse_grapher_csv(snapshot_payload(slug), options_for(slug))
    validate_observations(frame)
    assert {"USA", "CHN"} <= set(frame["country"])
    assert "not in any country mapping" not in caplog.text
    assert not frame["country"].str.starts_with("OWID").any()


def test_publications_values_match_sources_md():
    frame = parse_grapher_csv(snapshot_payload("annual-scholarly-publications-on-artificial-intelligence"),
                              options_for("annual-scholarly-publications-on-artificial-intelligence"))
    assert one(frame, "CHN", 2023)["value"] == 103493
    assert one(frame, "USA", 2023)["value"] == 50039
    assert one(frame, "USA", 2023)["source_series"] == "annual-scholarly-publications-on-artificial-intelligence:All"
    assert "WLD" in set(frame["country"]) and "EUU" in set(frame["country"])


def test_projected_column_becomes_projection_only_where_nothing_was_measured():
    slug = "private-investment-in-artificial-intelligence-cset"
    frame = parse_grapher_csv(snapshot_payload(slug), options_for(slug))
    usa_2024, usa_2025 = one(frame, "USA", 2024), one(frame, "USA", 2025)
    assert (usa_2024["value_kind"], usa_2024["value"]) == ("measured", 148345083627)
    assert usa_2025["value_kind"] == "projection"
    assert usa_2025["source_series"].endswith("(Projected)")
    assert set(frame.filter(pl.col("year") <= 2024)["value_kind"]) == {"measured"}


def test_metadata_gives_the_vintage():
    updated = parse_grapher_metadata(fixture_bytes("owid", "private-investment-in-artificial-intelligence.metadata.abridged.json"))
    assert updated == {"Global total private investment in AI": "2025-04-08"}


@settings(max_examples=40)
@given(st.lists(st.tuples(st.sampled_from([("United States", "USA"), ("China", "CHN"), ("World", "OWID_WRL"),
                                           ("Asia", "OWID_ASI"), ("Africa (CSET)", "")]),
                          st.integers(1990, 2030), st.integers(0, 10**12)),
                unique_by=lambda t: (t[0], t[1])))
def test_grapher_rows_survive_unless_they_are_aggregates(rows):
    lines = ["Entity,Code,Year,All"] + [f"{e},{c},{y},{v}" for (e, c), y, v in rows]
    frame = parse_grapher_csv(payload("\n".join(lines).encode(), "owid"), {"indicator": "ai_papers", "unit": "count", "slug": "t"})
    kept = {("USA" if c == "USA" else "CHN" if c == "CHN" else "WLD", y): float(v)
            for (e, c), y, v in rows if c in ("USA", "CHN", "OWID_WRL")}
    assert {(r["country"], r["year"]): r["value"] for r in frame.iter_rows(named=True)} == kept


def test_renamed_key_column_is_schema_drift():
    content = (SNAPSHOT / "owid" / "annual-scholarly-publications-on-artificial-intelligence.csv").read_bytes()
    with pytest.raises(SchemaDriftError, match="Entity"):
        parse_grapher_csv(payload(content.replace(b"Entity,", b"Country,", 1), "owid"), options_for(
            "annual-scholarly-publications-on-artificial-intelligence"))


def test_renamed_value_column_is_schema_drift():
    content = (SNAPSHOT / "owid" / "annual-scholarly-publications-on-artificial-intelligence.csv").read_bytes()
    with pytest.raises(SchemaDriftError, match="All"):
        parse_grapher_csv(payload(content.replace(b"Year,All", b"Year,Articles", 1), "owid"), options_for(
            "annual-scholarly-publications-on-artificial-intelligence"))


def test_truncated_csv_is_schema_drift():
    content = (SNAPSHOT / "owid" / "private-investment-in-artificial-intelligence-cset.csv").read_bytes()
    cut = content[: content.index(b"\n", 500) + 12]
    with pytest.raises(SchemaDriftError):
        parse_grapher_csv(payload(cut, "owid"), options_for("private-investment-in-artificial-intelligence-cset"))


# -- over HTTP -------------------------------------------------------------------------------------------------


def serve_quid(router, csv_answers=None):
    csv_route = router.get(f"/grapher/{QUID}.csv")
    csv_route.mock(side_effect=csv_answers or [httpx.Response(200, content=snapshot_payload(QUID).content)])
    router.get(f"/grapher/{QUID}.metadata.json").mock(return_value=httpx.Response(
        200, content=fixture_bytes("owid", "private-investment-in-artificial-intelligence.metadata.abridged.json")))
    return csv_route


@respx.mock(base_url=BASE, assert_all_called=True)
def test_fetcher_pairs_csv_with_metadata_for_the_vintage(respx_mock, fast_client):
    csv_route = serve_quid(respx_mock)
    query = OwidQuery(series=SERIES, slugs=(QUID,))
    fetcher = OwidFetcher()
    with fast_client(OwidFetcher) as client:
        payloads = fetcher.extract(query, client)
    assert csv_route.calls[0].request.url.params["csvType"] == "full"
    frame = fetcher.transform(payloads, query)
    assert set(frame["vintage"]) == {"2025-04-08"}
    assert one(frame, "USA", 2024)["value"] == 94222887831  # SOURCES.md sample
    assert one(frame, "CHN", 2024)["value"] == 8025155207
    assert "EUR" not in set(frame["country"])


@respx.mock(base_url=BASE)
def test_fetcher_429_then_success(respx_mock, fast_client):
    serve_quid(respx_mock, [httpx.Response(429, headers={"Retry-After": "3"}),
                            httpx.Response(200, content=snapshot_payload(QUID).content)])
    with fast_client(OwidFetcher) as client:
        payloads = OwidFetcher().extract(OwidQuery(series=SERIES, slugs=(QUID,)), client)
    assert fast_client.sleeps == [3.0] and len(payloads) == 2


@respx.mock(base_url=BASE)
def test_fetcher_503_twice_then_success(respx_mock, fast_client):
    route = serve_quid(respx_mock, [httpx.Response(503), httpx.Response(503),
                                    httpx.Response(200, content=snapshot_payload(QUID).content)])
    with fast_client(OwidFetcher) as client:
        OwidFetcher().extract(OwidQuery(series=SERIES, slugs=(QUID,)), client)
    assert route.call_count == 3


@respx.mock(base_url=BASE)
def test_fetcher_header_only_csv_is_empty_data(respx_mock, fast_client):
    serve_quid(respx_mock, [httpx.Response(200, text="Entity,Code,Year,Global total private investment in AI\n")])
    query = OwidQuery(series=SERIES, slugs=(QUID,))
    fetcher = OwidFetcher()
    with fast_client(OwidFetcher) as client:
        payloads = fetcher.extract(query, client)
    with pytest.raises(EmptyDataError):
        fetcher.transform(payloads, query)


def test_query_knows_only_catalogued_charts():
    with pytest.raises(ValueError):
        OwidQuery(series=SERIES, slugs=("life-expectancy",))
    with pytest.raises(ValueError):
        OwidQuery(format="json")
