"""TOP500: the derived by-country file and the raw list xlsx → November-list systems and Rmax share; cross-checked against each other."""

from __future__ import annotations

import csv

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fetchers.curated import top500
from fetchers.errors import SchemaDriftError

from .conftest import FIXTURES, parse_snapshot_file, shared_file, snapshot_payload, value, with_content

XLSX = FIXTURES / "TOP500_202511.xlsx"


@pytest.fixture(scope="module")
def by_country() -> pl.DataFrame:
    return parse_snapshot_file("top500", "derived_top500_by_country_per_list.csv")


@pytest.fixture(scope="module")
def november_2025_xlsx() -> pl.DataFrame:
    payload = with_content(snapshot_payload("top500", "derived_top500_by_country_per_list.csv"), XLSX.read_bytes())
    return top500.parse_top500_list_xlsx(payload, {"list": "2025-11"})


def test_values_stated_in_sources_md(by_country):
    # SOURCES.md: 2025-11: USA 171 / 46.43%; China 40 / 1.37%
    assert value(by_country, "top500_systems", "USA", 2025) == 171
    assert value(by_country, "top500_rmax_share", "USA", 2025) == pytest.approx(46.43, abs=0.005)
    assert value(by_country, "top500_systems", "CHN", 2025) == 40
    assert value(by_country, "top500_rmax_share", "CHN", 2025) == pytest.approx(1.37, abs=0.005)


def test_one_value_per_year_from_the_november_list_only(by_country):
    years = by_country.filter((pl.col("indicator") == "top500_systems") & (pl.col("country") == "USA"))["year"]
    assert years.to_list() == list(range(1993, 2026))  # the 2026-06 list is not a year's value
    assert by_country.filter(pl.col("year") == 2026).height == 0


def test_every_november_list_has_500_systems(by_country):
    systems = by_country.filter(pl.col("indicator") == "top500_systems").group_by("year").agg(pl.col("value").sum())
    assert set(systems["value"]) == {500.0}


def test_shares_of_a_list_sum_to_100(by_country):
    shares = by_country.filter(pl.col("indicator") == "top500_rmax_share").group_by("year").agg(pl.col("value").sum())
    assert all(abs(v - 100) < 0.05 for v in shares["value"])


def test_absent_from_a_list_is_a_measured_zero(by_country):
    # China has no system on the 1993-11 list (derived_top500_usa_chn_per_list: n_CHN 0, share 0.0).
    assert value(by_country, "top500_systems", "CHN", 1993) == 0
    assert value(by_country, "top500_rmax_share", "CHN", 1993) == 0


def test_matches_the_usa_chn_summary_file_for_every_november_list(by_country):
    path = shared_file("top500", "derived_top500_usa_chn_per_list.csv")
    with path.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["month"] == "11"]
    assert len(rows) == 33
    for row in rows:
        year = int(row["year"])
        for code in ("USA", "CHN"):
            assert value(by_country, "top500_systems", code, year) == int(row[f"n_{code}"])
            assert value(by_country, "top500_rmax_share", code, year) == pytest.approx(
                float(row[f"rmax_share_{code}_pct"]), abs=0.006)


def test_raw_list_xlsx_gives_the_values_stated_in_sources_md(november_2025_xlsx):
    assert value(november_2025_xlsx, "top500_systems", "USA", 2025) == 171
    assert value(november_2025_xlsx, "top500_rmax_share", "USA", 2025) == pytest.approx(46.43, abs=0.005)
    assert value(november_2025_xlsx, "top500_systems", "CHN", 2025) == 40
    assert value(november_2025_xlsx, "top500_rmax_share", "CHN", 2025) == pytest.approx(1.37, abs=0.005)


def test_raw_list_and_derived_file_agree_for_every_country(november_2025_xlsx, by_country):
    derived = by_country.filter((pl.col("year") == 2025) & (pl.col("value") > 0))
    joined = derived.join(november_2025_xlsx, on=["indicator", "country", "year"], how="full", suffix="_xlsx")
    assert joined["value"].null_count() == 0 and joined["value_xlsx"].null_count() == 0
    # The derived file rounds shares to 3 decimals.
    assert (joined["value"] - joined["value_xlsx"]).abs().max() < 0.001


def test_a_june_list_is_read_but_gives_no_year_value():
    payload = with_content(snapshot_payload("top500", "derived_top500_by_country_per_list.csv"), XLSX.read_bytes())
    assert top500.parse_top500_list_xlsx(payload, {"list": "2025-06"}).height == 0


def test_a_file_that_is_not_a_workbook_is_drift():
    payload = snapshot_payload("top500", "derived_top500_by_country_per_list.csv")
    with pytest.raises(SchemaDriftError):
        top500.parse_top500_list_xlsx(payload, {"list": "2025-11"})


def test_a_list_that_does_not_sum_to_500_is_drift():
    payload = snapshot_payload("top500", "derived_top500_by_country_per_list.csv")
    lines = payload.content.splitlines(keepends=True)
    dropped = b"".join(l for l in lines if not l.startswith(b"2025,11,United States,"))
    with pytest.raises(SchemaDriftError, match="2025-11"):
        top500.parse_top500_by_country(with_content(payload, dropped), {})


@given(st.lists(st.tuples(st.sampled_from(["USA", "CHN", "JPN", None]),
                          st.floats(min_value=1e-3, max_value=1e7, allow_nan=False)), min_size=1, max_size=60))
def test_country_shares_partition_the_list(systems):
    shares = top500.country_shares(systems)
    located = [s for s in systems if s[0] is not None]
    assert sum(n for n, _ in shares.values()) == len(located)
    expected_share = 100 * sum(r for _, r in located) / sum(r for _, r in systems)
    assert sum(s for _, s in shares.values()) == pytest.approx(expected_share, rel=1e-9, abs=1e-9)
    assert all(0 <= s <= 100 + 1e-9 for _, s in shares.values())
