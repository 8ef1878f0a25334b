"""NCSES SEI tables on their real snapshot files: values stated in ../shared/data/ncses_sei/SOURCES.md, layout rules, drift."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from fetchers.curated import ncses
from fetchers.errors import SchemaDriftError

from .conftest import parse_snapshot_file, snapshot_payload, value, with_content

# (file, indicator, country, year, value as SOURCES.md states it)
STATED = [
    ("1639_data.csv", "stay_rate_5yr", "CHN", 2003, 93),
    ("1639_data.csv", "stay_rate_5yr", "CHN", 2017, 83),
    ("1639_data.csv", "stay_rate_5yr", "WLD", 2003, 64),
    ("1639_data.csv", "stay_rate_5yr", "WLD", 2017, 71),
    ("9582_data.csv", "stay_intention_rate", "CHN", 2016, 81.0),
    ("9582_data.csv", "stay_intention_rate", "CHN", 2022, 76.7),
    ("11695_data.csv", "doctorates_temp_visa_china", "CHN", 2013, 4796),
    ("11695_data.csv", "doctorates_temp_visa_china", "CHN", 2023, 6652),
    ("6245_data.csv", "ict_manufacturing_value_added", "USA", 2002, 174143),
    ("6245_data.csv", "ict_manufacturing_value_added", "USA", 2019, 310124),
    ("6245_data.csv", "ict_manufacturing_value_added", "CHN", 2002, 48916),
    ("6245_data.csv", "ict_manufacturing_value_added", "CHN", 2019, 373195),
    ("6245_data.csv", "ict_manufacturing_value_added", "WLD", 2019, 1255021),
    ("6214_data.csv", "it_services_value_added", "USA", 2019, 655779),
    ("6214_data.csv", "it_services_value_added", "CHN", 2019, 149643),
    ("6248_data.csv", "kti_value_added", "USA", 2019, 2336168),
    ("6248_data.csv", "kti_value_added", "CHN", 2019, 2267431),
    ("1992_data.csv", "kti_exports", "USA", 2003, 463877),
    ("1992_data.csv", "kti_exports", "USA", 2018, 809276),
    ("1992_data.csv", "kti_exports", "CHN", 2003, 224497),
    ("1992_data.csv", "kti_exports", "CHN", 2018, 1344673),
    ("6208_data.csv", "ai_vc_investment_ncses", "USA", 2020, 27599),
    ("6208_data.csv", "ai_vc_investment_ncses", "CHN", 2020, 16923),
    ("6208_data.csv", "ai_vc_investment_ncses", "WLD", 2020, 54194),
    ("1974_data.csv", "ai_vc_companies", "CHN", 2014, 53),
    ("1974_data.csv", "ai_vc_companies", "CHN", 2018, 284),
    ("1974_data.csv", "ai_vc_companies", "USA", 2014, 575),
    ("1974_data.csv", "ai_vc_companies", "USA", 2018, 1544),
    ("10564_data.csv", "ai_patents_granted", "WLD", 2022, 190038),
    ("10564_data.csv", "ai_patents_granted", "USA", 2022, 41507),
    ("10564_data.csv", "ai_patents_granted", "CHN", 2022, 91436),
    ("6304_data.csv", "gerd_ppp_usd", "USA", 2019, 668351.2),
]


@pytest.mark.parametrize("file,indicator,country,year,expected", STATED)
def test_values_stated_in_sources_md(file, indicator, country, year, expected):
    frame = parse_snapshot_file("ncses", file)
    assert value(frame, indicator, country, year) == pytest.approx(expected)
    assert set(frame["source"]) == {"ncses"}


def test_ncses_units_follow_the_catalog():
    units = {
        "1639_data.csv": "pct", "9582_data.csv": "pct", "11695_data.csv": "count", "6208_data.csv": "usd_million",
        "1974_data.csv": "count", "1992_data.csv": "usd_million", "6304_data.csv": "usd_ppp_million",
        "10564_data.csv": "count", "10060_data.csv": "count",
    }
    for file, unit in units.items():
        assert set(parse_snapshot_file("ncses", file)["unit"]) == {unit}, file


def test_exports_branch_excludes_imports():
    frame = parse_snapshot_file("ncses", "1992_data.csv")
    rows = list(csv.DictReader(io.StringIO(snapshot_payload("ncses", "1992_data.csv").content.decode())))
    us_imports_2003 = next(r for r in rows if r["region_country_or_economy_full_path"]
                           == "Imports -> World -> North America -> United States")["field_2003"]
    assert value(frame, "kti_exports", "USA", 2003) != float(us_imports_2003)


def test_companies_branch_excludes_deals():
    frame = parse_snapshot_file("ncses", "1974_data.csv")
    assert frame.height == 10  # China and the US, 2014–18, companies only


def test_only_china_from_the_top_ten_origins_and_only_its_total_row():
    frame = parse_snapshot_file("ncses", "11695_data.csv")
    assert set(frame["country"]) == {"CHN"}
    assert frame["year"].to_list() == list(range(2013, 2024))


def test_stay_intention_reads_the_percent_columns_not_the_counts():
    frame = parse_snapshot_file("ncses", "9582_data.csv")
    assert frame["value"].max() <= 100
    assert value(frame, "stay_intention_rate", "WLD", 2016) == pytest.approx(72.5)  # first row, field_2016_staying


def test_gerd_takes_the_first_of_each_label_pair_and_its_own_year():
    frame = parse_snapshot_file("ncses", "6304_data.csv")
    # Switzerland's latest year in table RD-5 is 2017, China's 2019 (labels "Switzerland (2017)", "China (2019)").
    assert frame.filter(pl.col("country") == "CHE")["year"].to_list() == [2017]
    assert value(frame, "gerd_ppp_usd", "CHN", 2019) > 1000  # the PPP$ million row, not the 2.23 % row


def test_pair_cell_of_the_coauthorship_matrix_is_the_bilateral_unit():
    frame = parse_snapshot_file("ncses", "10060_data.csv")
    rows = {r["region_country_or_economy"]: r for r in csv.DictReader(
        io.StringIO(snapshot_payload("ncses", "10060_data.csv").content.decode()))}
    assert frame.height == 1
    assert frame["country"][0] == "XUC"
    assert frame["value"][0] == float(rows["China"]["united_states"]) == float(rows["United States"]["china"])
    assert "2003-22" in frame["source_series"][0]


def test_duplicated_rows_count_once():
    payload = snapshot_payload("ncses", "1639_data.csv")
    lines = payload.content.decode().splitlines(keepends=True)
    doubled = with_content(payload, "".join(lines[:3] + [lines[2]] + lines[3:]).encode())
    options = payload.extra["options"]
    once = ncses.parse_ncses_wide(payload, options).drop("snapshot_id")
    assert ncses.parse_ncses_wide(doubled, options).drop("snapshot_id").equals(once)


def test_a_row_id_repeated_with_other_values_is_drift():
    payload = snapshot_payload("ncses", "1639_data.csv")
    lines = payload.content.decode().splitlines(keepends=True)
    conflicting = lines[2].replace(",93,", ",94,", 1)
    assert conflicting != lines[2]
    with pytest.raises(SchemaDriftError, match="r002"):
        ncses.parse_ncses_wide(with_content(payload, "".join(lines + [conflicting]).encode()), payload.extra["options"])


def test_an_unmapped_label_is_drift_not_a_silent_drop():
    payload = snapshot_payload("ncses", "1639_data.csv")
    renamed = payload.content.replace(b"South Korea", b"Atlantis", 1)
    with pytest.raises(SchemaDriftError, match="Atlantis"):
        ncses.parse_ncses_wide(with_content(payload, renamed), payload.extra["options"])


def test_imputed_marker_makes_an_estimate():
    payload = snapshot_payload("ncses", "1639_data.csv")
    india_row = next(line for line in payload.content.splitlines() if b",India," in line)
    marked = payload.content.replace(india_row, india_row + b"i")  # India 2017 flagged as imputed
    frame = ncses.parse_ncses_wide(with_content(payload, marked), payload.extra["options"])
    india = frame.filter((pl.col("country") == "IND") & (pl.col("year") == 2017))
    assert india["value_kind"].to_list() == ["estimate"] and india["value"].to_list() == [83.0]


def test_unknown_option_is_rejected():
    payload = snapshot_payload("ncses", "1639_data.csv")
    with pytest.raises(ValueError):
        ncses.parse_ncses_wide(payload, {**payload.extra["options"], "colour": "blue"})


# ---------------------------------------------------------------- period totals (year_start)


@pytest.mark.parametrize("file,indicator,first,last", [
    ("10564_data.csv", "ai_patents_granted", 2000, 2022),
    ("10060_data.csv", "ai_papers_us_china_coauthored", 2003, 2022),
])
def test_period_totals_carry_their_true_year_start(file, indicator, first, last):
    frame = parse_snapshot_file("ncses", file).filter(pl.col("indicator") == indicator)
    assert frame.height > 0
    assert set(frame["year_start"]) == {first} and set(frame["year"]) == {last}


def test_annual_tables_stay_annual():
    for file in ("1992_data.csv", "6248_data.csv", "6304_data.csv", "1639_data.csv"):
        frame = parse_snapshot_file("ncses", file)
        assert (frame["year_start"] == frame["year"]).all(), file


@pytest.mark.parametrize("period,year,expected", [("2000-22", 2022, (2000, 2022)), ("2003–22", 2022, (2003, 2022)),
                                                  ("1996-2016", 2016, (1996, 2016)), ("1995-05", 2005, (1995, 2005))])
def test_period_bounds(period, year, expected):
    assert ncses.period_bounds(period, year) == expected


@pytest.mark.parametrize("period,year", [("2000-22", 2021), ("2022-22", 2022), ("twenty years", 2022)])
def test_a_period_that_does_not_end_in_its_year_is_refused(period, year):
    with pytest.raises(ValueError):
        ncses.period_bounds(period, year)


def test_a_long_table_period_needs_its_year_and_must_end_there():
    payload = snapshot_payload("ncses", "10564_data.csv")
    options = dict(payload.extra["options"])
    with pytest.raises(ValueError, match="ends in 2022"):
        ncses.parse_ncses_long(payload, {**options, "year": 2021})
    without_year = {k: v for k, v in options.items() if k != "year"}
    with pytest.raises(ValueError, match="needs `year`"):
        ncses.parse_ncses_long(payload, without_year)
