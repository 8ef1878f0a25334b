"""BRI partners and Confucius Institutes on the real files of ../shared/data/influence_ci_bri (not shipped: no licence): SOURCES.md values and the known flaws (Samoa, unknown years, Closed over-count, blank dates)."""

from __future__ import annotations

import csv
import io
from collections import Counter

import polars as pl
import pytest

from fetchers.curated import bridash
from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.errors import SchemaDriftError

from .conftest import shared_payload, value, with_content

BRI = ("influence_ci_bri", "bri_countries.csv")
CI = ("influence_ci_bri", "confucius_institutes.csv")
# Rows of the Confucius list that are Taiwan Education Centers (ROC programmes), not Confucius Institutes.
NOT_CONFUCIUS = ["171", "172"]
CI_OPTIONS = {"year": 2022, "exclude_ids": NOT_CONFUCIUS}


def _bri_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(shared_payload("bridash", *BRI).content.decode())))


def _ci_rows() -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(shared_payload("bridash", *CI).content.decode())))


def test_bri_rows_stated_in_sources_md():
    years = {r["name"]: r["bri_partner"] for r in _bri_rows()}
    assert (years["China"], years["Pakistan"], years["Panama"], years["Italy"], years["United States"]) == (
        "2013", "2013", "2017", "2019", "")
    counted = Counter(r["bri_partner"] for r in _bri_rows() if r["bri_partner"])
    assert sum(counted.values()) == 135
    assert (counted["2013"], counted["2015"], counted["2017"], counted["2018"], counted["2019"], counted["unknown"]) == (
        9, 16, 20, 61, 14, 7)


def test_the_american_samoa_row_is_samoas_signing():
    assert {r["name"]: r["bri_partner"] for r in _bri_rows() if "Samoa" in r["name"]} == {
        "American Samoa": "2018", "Samoa": ""}
    dated, unknown = bridash.bri_signing_years(shared_payload("bridash", *BRI).content)
    assert dated["WSM"] == 2018 and "ASM" not in dated and "ASM" not in unknown


def test_two_different_years_for_one_country_fail_loudly():
    payload = shared_payload("bridash", *BRI)
    broken = with_content(payload, payload.content.replace(b"Samoa,7,\r\n", b"Samoa,7,2019\r\n"))
    assert broken.content != payload.content
    with pytest.raises(SchemaDriftError, match="WSM"):
        bridash.parse_bri_partners(broken, {})


def test_unknown_years_are_left_out_and_counted_in_the_series_label():
    frame = CURATED_PARSERS["curated.bri_partners"](shared_payload("bridash", *BRI), {})
    dated, unknown = bridash.bri_signing_years(shared_payload("bridash", *BRI).content)
    assert len(unknown) == 7 and "RUS" in unknown  # Russia's year is "unknown" in the list
    assert "CHN" not in dated and "CHN" not in unknown  # the initiator is no partner
    partners = frame.filter(pl.col("indicator") == "bri_partner_countries").sort("year")
    assert (partners["year"].min(), partners["year"].max()) == (2013, 2021)
    assert value(frame, "bri_partner_countries", "CHN", 2013) == 8  # SOURCES.md's 9 in 2013 include China
    assert value(frame, "bri_partner_countries", "CHN", 2021) == len(dated) == 127
    assert frame["source_series"].str.contains("7 partner\\(s\\) with an unknown year left out").all()
    assert partners["value"].is_sorted()


def test_bri_share_of_un_members_excludes_non_members():
    frame = CURATED_PARSERS["curated.bri_partners"](shared_payload("bridash", *BRI), {})
    dated, _ = bridash.bri_signing_years(shared_payload("bridash", *BRI).content)
    assert {"COK", "NIU"} <= set(dated)  # signatories that are not UN members
    share = value(frame, "bri_partner_share_un", "CHN", 2021)
    assert share == pytest.approx(100 * (len(dated) - 2) / 193)


def test_a_dropped_label_with_a_year_fails_loudly():
    payload = shared_payload("bridash", *BRI)
    broken = with_content(payload, payload.content.replace(b"Kosovo,250,\r\n", b"Kosovo,250,2018\r\n"))
    with pytest.raises(SchemaDriftError, match="Kosovo"):
        bridash.parse_bri_partners(broken, {})


def test_confucius_rows_stated_in_sources_md():
    rows = _ci_rows()
    assert len(rows) == 665 and Counter(r["status"] for r in rows) == {"Open": 140, "Closed": 525}
    assert sum(1 for r in rows if not r["date_est"].strip()) == 357
    us = [r for r in rows if r["country"] == "United States"]
    assert len(us) == 203 and Counter(r["status"] for r in us) == {"Open": 32, "Closed": 171}
    by_country = Counter(r["country"] for r in rows)
    assert (by_country["United Kingdom"], by_country["South Korea"], by_country["Germany"], by_country["Russia"]) == (
        29, 23, 19, 19)


def test_confucius_counts_ignore_the_status_column():
    payload = shared_payload("bridash", *CI)
    frame = bridash.parse_confucius_institutes(payload, CI_OPTIONS)
    flipped = with_content(payload, payload.content.replace(b",Closed,", b",Open,"))
    assert flipped.content != payload.content
    again = bridash.parse_confucius_institutes(flipped, CI_OPTIONS)
    assert frame.drop("snapshot_id").equals(again.drop("snapshot_id"))
    assert value(frame, "confucius_institutes_by_host", "GBR", 2022) == 29
    assert value(frame, "confucius_institutes_by_host", "KOR", 2022) == 23
    # The US list repeats hosts from two press lists ("Bryant University" / "Bryant University "): 203 rows, 196 hosts.
    assert value(frame, "confucius_institutes_by_host", "USA", 2022) == 196
    assert value(frame, "confucius_institutes_by_host", "IND", 2022) == 6  # 8 rows less the two Taiwan centres


def test_confucius_cross_section_has_one_year_and_blank_dates_do_not_matter():
    frame = CURATED_PARSERS["curated.confucius_institutes"](shared_payload("bridash", *CI), CI_OPTIONS)
    assert set(frame["year"]) == {2022}
    total = value(frame, "confucius_institutes_listed", "CHN", 2022)
    assert total == frame.filter(pl.col("indicator") == "confucius_institutes_by_host")["value"].sum()
    assert 0 < value(frame, "confucius_host_share_un", "CHN", 2022) < 100


def test_a_malformed_date_status_or_exclusion_fails_loudly():
    payload = shared_payload("bridash", *CI)
    with pytest.raises(SchemaDriftError, match="date_est"):
        bridash.parse_confucius_institutes(with_content(payload, payload.content.replace(b",2/6/15,", b",sometime,", 1)),
                                           CI_OPTIONS)
    with pytest.raises(SchemaDriftError, match="status"):
        bridash.parse_confucius_institutes(with_content(payload, payload.content.replace(b",Open,", b",Maybe,", 1)),
                                           CI_OPTIONS)
    with pytest.raises(SchemaDriftError, match="exclude_ids"):
        bridash.parse_confucius_institutes(payload, {"year": 2022, "exclude_ids": ["99999"]})


def test_an_unmapped_name_fails_loudly():
    payload = shared_payload("bridash", *BRI)
    renamed = with_content(payload, payload.content.replace(b"Zimbabwe,", b"Atlantis,", 1))
    assert renamed.content != payload.content
    with pytest.raises(SchemaDriftError, match="Atlantis"):
        bridash.parse_bri_partners(renamed, {})
    payload = shared_payload("bridash", *CI)
    renamed = with_content(payload, payload.content.replace(b",Zimbabwe,", b",Atlantis,", 1))
    with pytest.raises(SchemaDriftError, match="Atlantis"):
        bridash.parse_confucius_institutes(renamed, CI_OPTIONS)
