"""V-Dem, Freedom House, Pew, Open Doors and OECD.AI parsers on their real snapshot files: values stated in SOURCES.md, layout rules, drift."""

from __future__ import annotations

import csv

import polars as pl
import pytest

from contracts.countries import is_valid_code
from fetchers.curated import freedomhouse, oecd_ai, opendoors, pew
from fetchers.errors import SchemaDriftError

from .conftest import parse_snapshot_file, shared_file, snapshot_payload, value, with_content

VDEM_FILE = "vdem3_democracy_indices.csv"
FIW_FILE = "All_data_FIW_2013-2024.xlsx"


@pytest.fixture(scope="module")
def vdem() -> pl.DataFrame:
    return parse_snapshot_file("vdem", VDEM_FILE)


@pytest.fixture(scope="module")
def fiw() -> pl.DataFrame:
    return parse_snapshot_file("freedomhouse", FIW_FILE)


# --- V-Dem -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("country,year,libdem", [("USA", 2015, 0.848), ("USA", 2020, 0.725), ("USA", 2024, 0.748),
                                                  ("CHN", 2015, 0.051), ("CHN", 2020, 0.041), ("CHN", 2024, 0.036)])
def test_vdem_libdem_stated_in_sources_md(vdem, country, year, libdem):
    assert value(vdem, "liberal_democracy", country, year) == pytest.approx(libdem)


def test_vdem_every_country_is_iso3_and_every_score_in_0_1(vdem):
    assert all(is_valid_code(c) for c in vdem["country"].unique())
    assert vdem["value"].is_between(0, 1).all()
    assert vdem.filter(pl.col("country") == "USA")["year"].min() == 1960
    assert vdem["country"].n_unique() > 170


def test_vdem_subset_equals_the_original_file(vdem):
    path = shared_file("vdem_freedom", "vdem3.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        original = {(r["country_text_id"], int(r["year"])): (r["v2x_libdem"], r["v2x_polyarchy"])
                    for r in csv.DictReader(fh) if r["country_name"] != "NA" and r["country_text_id"] != "XKX"}
    libdem = {(r["country"], r["year"]): r["value"] for r in vdem.filter(
        pl.col("indicator") == "liberal_democracy").iter_rows(named=True)}
    expected = {k: float(v[0]) for k, v in original.items() if v[0] != "NA"}
    assert libdem == pytest.approx(expected)


# --- Freedom House ---------------------------------------------------------------------------------

@pytest.mark.parametrize("country,edition,total", [("USA", 2013, 93), ("USA", 2017, 89), ("USA", 2021, 83),
                                                    ("USA", 2024, 83), ("CHN", 2013, 17), ("CHN", 2018, 14),
                                                    ("CHN", 2021, 9), ("CHN", 2024, 9)])
def test_fiw_totals_stated_in_sources_md_sit_at_the_year_under_review(fiw, country, edition, total):
    assert value(fiw, "freedom_house_total", country, edition - freedomhouse.EDITION_LAG) == total


def test_fiw_years_and_codes(fiw):
    assert fiw["year"].min() == 2012 and fiw["year"].max() == 2023
    assert all(is_valid_code(c) for c in fiw["country"].unique())
    assert "HKG" in set(fiw["country"])  # a territory with an ISO code is kept; Tibet, Crimea … are not
    assert fiw.filter(pl.col("year") == 2023).height >= 195


def test_fiw_workbook_without_the_data_sheet_is_drift():
    payload = snapshot_payload("freedomhouse", FIW_FILE)
    with pytest.raises(SchemaDriftError):
        freedomhouse.parse_freedomhouse_fiw(payload, {"sheet": "Index"})


# --- Pew -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("year,avg", [(2000, 67.5), (2008, 44.24), (2016, 62.47), (2017, 49.54)])
def test_pew_average_stated_in_sources_md(year, avg):
    frame = parse_snapshot_file("pew", "TRUMPWORLD-us.csv")
    assert value(frame, "favourability", "USA", year) == pytest.approx(avg, abs=0.005)
    assert set(frame["country"]) == {"USA"} and set(frame["value_kind"]) == {"measured"}


def test_pew_average_that_is_not_the_mean_of_its_row_is_drift():
    payload = snapshot_payload("pew", "TRUMPWORLD-us.csv")
    with pytest.raises(SchemaDriftError, match="2000"):
        pew.parse_pew_favourability(with_content(payload, payload.content.replace(b"2000,67.5,", b"2000,70.5,")), {})


# --- Open Doors ------------------------------------------------------------------------------------

def test_opendoors_values_stated_in_sources_md():
    china = parse_snapshot_file("opendoors", "origin_china_india_hk_taiwan.csv")
    total = parse_snapshot_file("opendoors", "academic.csv")
    assert value(china, "chinese_students_us", "CHN", 2000) == 59939  # 2000/01
    assert value(china, "chinese_students_us", "CHN", 2019) == 372532  # 2019/20
    assert value(china, "chinese_students_us", "CHN", 2022) == 289526  # 2022/23
    assert value(total, "chinese_students_us", "WLD", 2022) == 1057188
    assert set(china["country"]) == {"CHN"} and set(total["country"]) == {"WLD"}


def test_opendoors_china_never_exceeds_the_total():
    china = parse_snapshot_file("opendoors", "origin_china_india_hk_taiwan.csv").select("year", "value")
    total = parse_snapshot_file("opendoors", "academic.csv").select("year", pl.col("value").alias("total"))
    joined = china.join(total, on="year")
    assert joined.height == china.height
    assert (joined["value"] < joined["total"]).all()


@pytest.mark.parametrize("label,year", [("1948/49", 1948), ("1999/00", 1999), ("2019/20", 2019)])
def test_academic_year_is_its_first_calendar_year(label, year):
    assert opendoors.academic_year_start(label) == year


@pytest.mark.parametrize("label", ["2019/21", "2019", "19/20", "2019-20"])
def test_malformed_academic_year_is_drift(label):
    with pytest.raises(SchemaDriftError):
        opendoors.academic_year_start(label)


def test_opendoors_repeated_academic_type_is_drift():
    payload = snapshot_payload("opendoors", "origin_china_india_hk_taiwan.csv")
    first = payload.content.splitlines(keepends=True)[1]
    with pytest.raises(SchemaDriftError, match="appears twice"):
        opendoors.parse_opendoors_origin(with_content(payload, payload.content + first), {})


# --- OECD.AI ---------------------------------------------------------------------------------------

def test_oecd_ai_values_stated_in_sources_md():
    frame = parse_snapshot_file("oecd_ai", "vc_investments_ai_by_country_USA_CHN_excerpt.csv")
    assert value(frame, "ai_vc_investment", "USA", 2024) == 106165
    assert value(frame, "ai_vc_investment", "CHN", 2024) == 18140
    assert set(frame["country"]) == {"USA", "CHN", "EUU"}  # GPAI and OECD are groups, dropped
    assert set(frame["unit"]) == {"usd_million"}


def test_oecd_ai_partial_year_is_provisional():
    frame = parse_snapshot_file("oecd_ai", "vc_investments_ai_by_country_USA_CHN_excerpt.csv")
    kinds = dict(frame.group_by("year").agg(pl.col("value_kind").unique()).iter_rows())
    assert kinds.pop(2026) == ["provisional"]
    assert all(k == ["measured"] for k in kinds.values())


def test_oecd_ai_repeated_country_year_is_drift():
    payload = snapshot_payload("oecd_ai", "vc_investments_ai_by_country_USA_CHN_excerpt.csv")
    usa = next(l for l in payload.content.splitlines(keepends=True) if l.startswith(b"USA,"))
    with pytest.raises(SchemaDriftError, match="USA"):
        oecd_ai.parse_oecd_ai_vc(with_content(payload, payload.content + usa), {})
