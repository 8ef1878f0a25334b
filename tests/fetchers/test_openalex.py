"""OpenAlex group_by JSON → observations; request plan, cursor paging, key hygiene, retries, schema drift."""

from __future__ import annotations

import csv
import json

import httpx
import polars as pl
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from tests.fetchers.conftest import SNAPSHOT, fixture_bytes, payload
from tests.conftest import SHARED_DATA
from contracts.observations import validate_observations
from fetchers.errors import EmptyDataError, SchemaDriftError
from fetchers.openalex import OpenAlexFetcher, OpenAlexQuery, parse_group_by_json

BASE = OpenAlexFetcher.default_base_url
SECRET = "oa-premium-key-123"
LEGACY_CSV = SHARED_DATA / "openalex" / "ai_publication_counts_C154945302_by_country_2010_2020.csv"


def legacy(year: int, prefix: str = "ai", concept: str = "C154945302"):
    return payload((SNAPSHOT / "openalex" / f"{prefix}_{concept}_{year}.json").read_bytes(), "openalex")


def value(frame: pl.DataFrame, country: str, year: int, indicator: str | None = None) -> float:
    rows = frame.filter((pl.col("country") == country) & (pl.col("year") == year))
    if indicator:
        rows = rows.filter(pl.col("indicator") == indicator)
    assert rows.height == 1, rows
    return rows["value"][0]


def test_snapshot_year_parses_to_countries_with_sources_md_values():
    frame = parse_group_by_json(legacy(2020), {"indicator": "ai_works_openalex_legacy", "year": 2020})
    validate_observations(frame)
    assert value(frame, "CHN", 2020) == 133717  # SOURCES.md sample
    assert value(frame, "USA", 2020) == 123434
    assert value(parse_group_by_json(legacy(2010), {"indicator": "x", "year": 2010}), "CHN", 2010) == 105706


@pytest.mark.skipif(not LEGACY_CSV.exists(), reason="../shared/data is not beside this checkout")
def test_snapshot_json_holds_exactly_the_rows_of_the_source_csv(caplog):
    with open(LEGACY_CSV, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if not r["country_code"].endswith("/XK")]
    frames = pl.concat([parse_group_by_json(legacy(y), {"indicator": "x", "year": y}) for y in range(2010, 2021)])
    assert frames.height == len(rows)
    assert frames["value"].sum() == sum(int(r["count"]) for r in rows)
    assert "not in any country mapping" not in caplog.text


def test_deep_learning_snapshot_parses():
    frame = parse_group_by_json(legacy(2015, "dl", "C108583219"), {"indicator": "dl_works_openalex_legacy", "year": 2015})
    assert {"USA", "CHN"} <= set(frame["country"]) and set(frame["indicator"]) == {"dl_works_openalex_legacy"}


@settings(max_examples=40)
@given(st.dictionaries(st.sampled_from(["US", "CN", "GB", "XK", "unknown"]), st.integers(0, 10**7)))
def test_group_counts_are_kept_per_country(groups):
    document = {"meta": {"count": 1, "groups_count": len(groups)},
                "group_by": [{"key": k if k == "unknown" else f"https://openalex.org/countries/{k}", "key_display_name": k,
                              "count": c} for k, c in groups.items()]}
    frame = parse_group_by_json(payload(json.dumps(document).encode(), "openalex"), {"indicator": "x", "year": 2020})
    expected = {{"US": "USA", "CN": "CHN", "GB": "GBR"}[k]: float(c) for k, c in groups.items() if k in ("US", "CN", "GB")}
    assert dict(zip(frame["country"], frame["value"])) == expected


def test_renamed_field_is_schema_drift():
    text = (SNAPSHOT / "openalex" / "ai_C154945302_2020.json").read_text().replace('"count"', '"n"')
    with pytest.raises(SchemaDriftError, match="count"):
        parse_group_by_json(payload(text.encode(), "openalex"), {"indicator": "x", "year": 2020})
    text = (SNAPSHOT / "openalex" / "ai_C154945302_2020.json").read_text().replace('"group_by"', '"groups"')
    with pytest.raises(SchemaDriftError, match="group_by"):
        parse_group_by_json(payload(text.encode(), "openalex"), {"indicator": "x", "year": 2020})


def test_truncated_body_is_schema_drift():
    content = (SNAPSHOT / "openalex" / "ai_C154945302_2020.json").read_bytes()
    with pytest.raises(SchemaDriftError):
        parse_group_by_json(payload(content[:300], "openalex"), {"indicator": "x", "year": 2020})


# -- the fetcher over HTTP -------------------------------------------------------------------------------------


def answer(request: httpx.Request) -> httpx.Response:
    """Plays the API: year groups for the pair query, authors by country, else works by country."""
    params = request.url.params
    if request.url.path == "/authors":
        return httpx.Response(200, content=fixture_bytes("openalex", "layout_only_authors_by_country.json"))
    if params["group_by"] == "publication_year":
        return httpx.Response(200, content=fixture_bytes("openalex", "layout_only_group_by_year.json"))
    return httpx.Response(200, content=fixture_bytes("openalex", "ai_2010.json"))


@respx.mock(base_url=BASE, assert_all_called=True)
def test_requests_grow_with_years_not_works(respx_mock, fast_client):
    works = respx_mock.get("/works").mock(side_effect=answer)
    authors = respx_mock.get("/authors").mock(side_effect=answer)
    query = OpenAlexQuery(since=2018, until=2020)
    fetcher = OpenAlexFetcher()
    with fast_client(OpenAlexFetcher, api_keys={"openalex": SecretStr(SECRET)}) as client:
        payloads = fetcher.extract(query, client)
    assert works.call_count == 4 * 3 + 1 and authors.call_count == 2
    sent = [c.request.url for c in works.calls]
    assert all(u.params["api_key"] == SECRET and u.params["mailto"] == "tests@example.org" for u in sent)
    assert all(SECRET not in p.url and "api_key" not in p.params for p in payloads)
    filters = [u.params["filter"] for u in sent]
    assert sum("is_in_top_1_percent:true" in f for f in filters) == 3
    assert sum("countries_distinct_count:>1" in f for f in filters) == 3
    pair = [f for f in filters if "authorships.institutions.country_code:us" in f]
    assert pair == ["primary_topic.subfield.id:subfields/1702,authorships.institutions.country_code:us,"
                    "authorships.institutions.country_code:cn,publication_year:2018-2020"]

    frame = fetcher.transform(payloads, query)
    assert set(frame["indicator"]) == {"ai_works_openalex", "ai_papers_top1pct", "ai_papers_top10pct",
                                       "ai_papers_intl_coauthored", "ai_papers_us_china_coauthored", "ai_author_inflow"}
    assert set(frame.filter(pl.col("indicator") == "ai_papers_us_china_coauthored")["country"]) == {"XUC"}
    inflow = frame.filter(pl.col("indicator") == "ai_author_inflow")
    assert sorted(inflow["country"]) == ["CHN", "USA"] and set(inflow["value_kind"]) == {"estimate"}
    works_2019 = frame.filter((pl.col("indicator") == "ai_works_openalex") & (pl.col("year") == 2019))
    assert works_2019.height > 100  # every country of the group_by answer


@respx.mock(base_url=BASE)
def test_cursor_paging_only_past_one_full_page(respx_mock, fast_client):
    route = respx_mock.get("/works").mock(side_effect=[
        httpx.Response(200, content=fixture_bytes("openalex", "ai_2020_page1.json")),
        httpx.Response(200, content=fixture_bytes("openalex", "ai_2020_page2.json")),
    ])
    query = OpenAlexQuery(since=2020, until=2020, measures=("ai_works_openalex",))
    fetcher = OpenAlexFetcher()
    with fast_client(OpenAlexFetcher) as client:
        payloads = fetcher.extract(query, client)
    assert route.call_count == 2
    first_cursor = json.loads(fixture_bytes("openalex", "ai_2020_page1.json"))["meta"]["next_cursor"]
    assert route.calls[0].request.url.params["cursor"] == "*"
    assert route.calls[1].request.url.params["cursor"] == first_cursor
    frame = fetcher.transform(payloads, query)
    assert value(frame, "CHN", 2020) == 133717


@respx.mock(base_url=BASE)
def test_429_then_503s_then_success(respx_mock, fast_client):
    route = respx_mock.get("/works").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(503), httpx.Response(503),
        httpx.Response(200, content=fixture_bytes("openalex", "ai_2010.json")),
    ])
    query = OpenAlexQuery(since=2010, until=2010, measures=("ai_works_openalex",))
    with fast_client(OpenAlexFetcher) as client:
        payloads = OpenAlexFetcher().extract(query, client)
    assert route.call_count == 4 and fast_client.sleeps[0] == 1.0 and len(payloads) == 1


@respx.mock(base_url=BASE)
def test_no_groups_is_empty_data(respx_mock, fast_client):
    respx_mock.get("/works").mock(return_value=httpx.Response(200, json={"meta": {"count": 0, "groups_count": 0}, "group_by": []}))
    query = OpenAlexQuery(since=2010, until=2011, measures=("ai_works_openalex",))
    fetcher = OpenAlexFetcher()
    with fast_client(OpenAlexFetcher) as client:
        payloads = fetcher.extract(query, client)
    with pytest.raises(EmptyDataError):
        fetcher.transform(payloads, query)


def test_query_is_strict():
    with pytest.raises(ValueError):
        OpenAlexQuery(measures=("citations",))
    with pytest.raises(ValueError):
        OpenAlexQuery(since=2020, until=2010)
    with pytest.raises(ValueError):
        OpenAlexQuery(concept="C154945302")
