"""Epoch notable models → models per country-year; both country column names; drift; HTTP retries."""

from __future__ import annotations

import csv
import io

import httpx
import polars as pl
import pytest
import respx
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fetchers.conftest import SNAPSHOT, payload
from contracts.observations import validate_observations
from fetchers.epoch import EpochFetcher, EpochQuery, parse_models_csv
from fetchers.errors import EmptyDataError, SchemaDriftError

BASE = EpochFetcher.default_base_url
CSV_PATH = "/data/notable_ai_models.csv"
REAL = (SNAPSHOT / "epoch" / "notable_ai_models_2025-04.csv").read_bytes()
NEW_NAME = REAL.replace(b"Country (from Organization)", b"Country (of organization)", 1)


def count(frame: pl.DataFrame, country: str, year: int) -> float:
    rows = frame.filter((pl.col("country") == country) & (pl.col("year") == year))
    return rows["value"][0] if rows.height else 0.0


def independent_count(label: str, year: int) -> int:
    """Models (not listings) whose organisation countries include `label`, read with the csv module."""
    reader = csv.DictReader(io.StringIO(REAL.decode("utf-8")))
    return sum(1 for r in reader if r["Publication date"].startswith(str(year))
               and label in {x.strip() for x in r["Country (from Organization)"].split(",")})


def test_counts_each_model_once_per_distinct_country():
    frame = parse_models_csv(payload(REAL, "epoch"), {})
    validate_observations(frame)
    for year in (2018, 2021, 2023):
        assert count(frame, "USA", year) == independent_count("United States of America", year)
        assert count(frame, "CHN", year) == independent_count("China", year)
    assert count(frame, "KOR", 2023) == independent_count("Korea (Republic of)", 2023)
    assert set(frame["indicator"]) == {"notable_ai_models"}


def test_both_column_names_give_the_same_counts():
    old = parse_models_csv(payload(REAL, "epoch"), {})
    new = parse_models_csv(payload(NEW_NAME, "epoch"), {})
    assert old.select("country", "year", "value").equals(new.select("country", "year", "value"))
    assert set(new["source_series"]) == {"notable_ai_models:Country (of organization)"}


def test_no_label_in_the_real_file_is_unknown(caplog):
    frame = parse_models_csv(payload(REAL, "epoch"), {})
    assert "not in any country mapping" not in caplog.text
    assert {"GBR", "IRN", "RUS", "HKG"} <= set(frame["country"])


@settings(max_examples=40)
@given(st.lists(st.tuples(st.lists(st.sampled_from(["United States of America", "China", "Multinational"]), min_size=1, max_size=4),
                          st.integers(1950, 2026)), max_size=30))
def test_a_model_never_counts_twice_for_one_country(models):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Model", "Country (from Organization)", "Publication date"])
    for n, (labels, year) in enumerate(models):
        writer.writerow([f"m{n}", ",".join(labels), f"{year}-06-01"])
    frame = parse_models_csv(payload(out.getvalue().encode(), "epoch"), {})
    for (labels, year) in models:
        expected = sum(1 for ls, y in models if y == year and "China" in ls)
        assert count(frame, "CHN", year) == expected
    assert frame.filter(pl.col("value") <= 0).height == 0
    assert "Multinational" not in set(frame["country"])


def test_missing_country_column_is_schema_drift():
    with pytest.raises(SchemaDriftError, match="Country"):
        parse_models_csv(payload(REAL.replace(b"Country (from Organization)", b"Nation", 1), "epoch"), {})


def test_truncated_file_is_schema_drift():
    cut = REAL[: REAL.index(b"\n", 20000) + 40]
    with pytest.raises(SchemaDriftError):
        parse_models_csv(payload(cut, "epoch"), {})


@respx.mock(base_url=BASE)
def test_fetcher_retries_then_parses(respx_mock, fast_client):
    route = respx_mock.get(CSV_PATH).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(503), httpx.Response(503),
        httpx.Response(200, content=NEW_NAME, headers={"content-type": "text/csv"}),
    ])
    fetcher = EpochFetcher()
    query = EpochQuery(since=2015)
    with fast_client(EpochFetcher) as client:
        payloads = fetcher.extract(query, client)
    assert route.call_count == 4 and fast_client.sleeps[0] == 2.0 and len(fast_client.sleeps) == 3
    assert payloads[0].media_type == "text/csv"
    frame = fetcher.transform(payloads, query)
    assert frame["year"].min() >= 2015
    assert count(frame, "USA", 2023) == independent_count("United States of America", 2023)


@respx.mock(base_url=BASE)
def test_fetcher_header_only_is_empty_data(respx_mock, fast_client):
    respx_mock.get(CSV_PATH).mock(return_value=httpx.Response(200, content=REAL.split(b"\n", 1)[0] + b"\n"))
    fetcher = EpochFetcher()
    with fast_client(EpochFetcher) as client:
        payloads = fetcher.extract(EpochQuery(), client)
    with pytest.raises(EmptyDataError):
        fetcher.transform(payloads, EpochQuery())


def test_stacking_keeps_years_from_since_and_only_concat_calls_nothing_an_error():
    """The shared stacking of per-payload frames (fetchers.base), on the real Epoch snapshot file."""
    from fetchers.base import concat_observations, stack_observations

    whole = parse_models_csv(payload(REAL, "epoch"), {})
    first, last = whole["year"].min(), whole["year"].max()
    assert first < 2015 < last
    kept = stack_observations([whole, whole.head(0)], since=2015)
    assert kept.sort(["indicator", "country", "year"]).equals(
        whole.filter(pl.col("year") >= 2015).sort(["indicator", "country", "year"]))  # fmt: skip
    assert stack_observations([whole], since=last + 1).height == 0
    assert stack_observations([]).height == 0
    sorted_ = concat_observations([whole], source="epoch", what="models", since=2015)
    assert sorted_.equals(kept.sort(["indicator", "country", "year"]))
    with pytest.raises(EmptyDataError):
        concat_observations([whole], source="epoch", what="models", since=last + 1)
