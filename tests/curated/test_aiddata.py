"""AidData GCDF sums on the real file of ../shared/data/aiddata_china_finance (not shipped: licence unclear): SOURCES.md values, COW → ISO3 by data file, drift."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from fetchers import countries
from fetchers.curated import aiddata
from fetchers.curated.parsers import CURATED_PARSERS
from fetchers.curated.un_members import un_member_codes
from fetchers.errors import SchemaDriftError

from .conftest import shared_file, shared_payload, value, with_content

FILE = ("aiddata_china_finance", "cow_gcdf.csv")


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return CURATED_PARSERS["curated.aiddata_gcdf"](shared_payload("aiddata", *FILE), {})


def _row(ccode: str, year: str) -> dict[str, str]:
    rows = csv.DictReader(io.StringIO(shared_payload("aiddata", *FILE).content.decode()))
    return next(r for r in rows if r["ccode"] == ccode and r["year"] == year)


def test_rows_stated_in_sources_md_are_read_as_they_stand():
    angola, pakistan17, pakistan21 = _row("540", "2010"), _row("770", "2017"), _row("770", "2021")
    assert float(angola["oof_amt"]) == pytest.approx(4_261_744_423.54)
    assert float(angola["oda_amt"]) == pytest.approx(62_444_523.14)
    assert float(pakistan17["oof_amt"]) == pytest.approx(15_199_222_634.47)
    assert float(pakistan17["oof_adj"]) == pytest.approx(13_493_936_224.46)
    assert float(pakistan21["oof_amt"]) == pytest.approx(12_692_062_790.70)
    assert float(pakistan21["oof_adj"]) == pytest.approx(4_040_900_000)


def test_per_recipient_values_are_the_three_flow_classes_of_that_row(frame):
    angola = _row("540", "2010")
    expected = sum(float(angola[c]) for c in ("oof_amt", "oda_amt", "vof_amt"))
    assert value(frame, "china_dev_finance_by_recipient", "AGO", 2010) == pytest.approx(expected)
    assert value(frame, "china_dev_finance_by_recipient", "PAK", 2017) > 15_199_222_634.47


@pytest.mark.parametrize("year,billions", [(2000, 5.45), (2009, 123.39), (2016, 140.78), (2021, 78.56)])
def test_totals_stated_in_sources_md(frame, year, billions):
    assert value(frame, "china_dev_finance_committed", "CHN", year) / 1e9 == pytest.approx(billions, abs=0.005)


def test_series_are_china_only_and_annual(frame):
    totals = frame.filter(pl.col("indicator") != "china_dev_finance_by_recipient")
    assert set(totals["country"]) == {"CHN"}
    assert (totals["year"].min(), totals["year"].max()) == (2000, 2021)
    assert (frame["year_start"] == frame["year"]).all()
    assert "CHN" not in set(frame.filter(pl.col("indicator") == "china_dev_finance_by_recipient")["country"])
    share = frame.filter(pl.col("indicator") == "china_dev_finance_recipients_share_un")
    assert share["value"].is_between(0, 100).all() and len(un_member_codes()) == 193


def test_cow_codes_map_by_the_data_file_never_as_iso_numeric_codes():
    assert aiddata.recipient_iso3("540") == "AGO"  # ISO 3166 numeric 540 would be New Caledonia
    assert aiddata.recipient_iso3("770") == "PAK"
    assert aiddata.recipient_iso3("345") is None  # Yugoslavia: listed, no current ISO3 code
    codes = {r["ccode"] for r in csv.DictReader(io.StringIO(shared_payload("aiddata", *FILE).content.decode()))}
    assert all(countries.is_listed(c, aiddata.COW) for c in codes)
    with pytest.raises(SchemaDriftError, match="COW code '9999'"):
        aiddata.recipient_iso3("9999")


def test_the_cow_file_agrees_with_the_un_voting_file_it_was_derived_from():
    source = shared_file("un_voting", "IdealpointestimatesAll_Jun2024.csv")
    with source.open(newline="", encoding="utf-8") as fh:
        pairs = {(r["ccode"], r["iso3c"]) for r in csv.DictReader(fh)}
    for ccode, iso3c in pairs:
        mapped = countries.to_iso3(ccode, aiddata.COW)
        assert mapped in (iso3c, None), (ccode, iso3c, mapped)


def test_an_unmapped_recipient_or_a_repeated_row_fails_loudly():
    payload = shared_payload("aiddata", *FILE)
    lines = payload.content.decode().splitlines(keepends=True)
    stray = with_content(payload, "".join(lines + ["9999,2010,1,1,0,0,0,0\n"]).encode())
    with pytest.raises(SchemaDriftError, match="9999"):
        aiddata.parse_aiddata_gcdf(stray, {})
    doubled = with_content(payload, "".join(lines + [lines[1]]).encode())
    with pytest.raises(SchemaDriftError, match="twice"):
        aiddata.parse_aiddata_gcdf(doubled, {})
