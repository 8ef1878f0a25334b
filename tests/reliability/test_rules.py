"""The value rules and the scrubber at the bottom (contracts.validation, contracts.redaction), as pure functions."""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.redaction import Scrubber
from contracts.units import UNITS
from contracts.validation import TEXT_LIMITS, first_violation, parse_decimal, parse_year

NOW = datetime(2026, 12, 2, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["1_000", "\u0661\u0660\u0660", "nan", "inf", "-infinity", "1,5", "0x10", "", "1e999",
                                  "\uff11\uff12"])  # fmt: skip
def test_only_ascii_finite_numbers_are_numbers(text):
    with pytest.raises(ValueError):
        parse_decimal(text)


@pytest.mark.parametrize(("text", "value"), [("2.35712", 2.35712), ("-28", -28.0), (" 277 ", 277.0), ("1.2e6", 1.2e6),
                                             (".5", 0.5), ("+3", 3.0)])  # fmt: skip
def test_ascii_numbers_parse_as_float_would(text, value):
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["\u0662\u0660\u0660\u0666", "2006.0", "1799", "2201", "206"])
def test_years_are_four_ascii_digits_in_range(text):
    with pytest.raises(ValueError):
        parse_year(text)


def _frame(rows: list[dict]) -> pl.DataFrame:
    base = {"indicator": "gerd_pct_gdp", "country": "CHN", "year": 2020, "value": 2.35712, "unit": "pct_gdp",
            "value_kind": "measured", "source_series": "GB.XPD.RSDV.GD.ZS"}  # fmt: skip
    return pl.DataFrame([{**base, **row} for row in rows])


def test_the_earliest_bad_row_is_reported_whichever_rule_it_breaks():
    frame = _frame([{}, {"value": -1.0}, {"source_series": "x\x00y"}, {"year": 2031}])
    violation = first_violation(frame, now=NOW)
    assert violation.index == 1 and violation.column == "value" and "below 0" in violation.reason
    assert first_violation(frame.slice(2), now=NOW).column == "source_series"
    assert "after 2026" in first_violation(frame.slice(3), now=NOW).reason


def test_a_future_year_is_fine_for_what_is_not_an_observation():
    for kind in ("projection", "target", "pledge", "claim"):
        assert first_violation(_frame([{"year": 2035, "value_kind": kind}]), now=NOW) is None
    for kind in ("measured", "estimate", "provisional"):
        assert first_violation(_frame([{"year": 2035, "value_kind": kind}]), now=NOW) is not None


def test_catalog_units_are_checked_only_for_indicators_the_caller_lists():
    frame = _frame([{"unit": "usd"}, {"indicator": "mine", "unit": "bn_yuan"}])
    assert first_violation(frame, now=NOW, catalog_units={"mine": "bn_yuan"}) is None
    assert "catalog unit 'pct_gdp'" in first_violation(frame, now=NOW, catalog_units={"gerd_pct_gdp": "pct_gdp"}).reason


@given(st.sampled_from(sorted(UNITS)), st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_the_range_rule_is_the_unit_spec(unit, value):
    frame = _frame([{"unit": unit, "value": value, "value_kind": "target"}])
    assert (first_violation(frame, now=NOW) is None) == UNITS[unit].contains(value)


def test_text_limits_are_the_database_column_lengths():
    from db.models import Observation

    columns = Observation.__table__.columns
    for name, column in (("country", "country"), ("unit", "unit"), ("source_series", "source_series")):
        assert columns[column].type.length == TEXT_LIMITS[name]
    assert columns["vintage"].type.length >= TEXT_LIMITS["vintage"] + len("#12345678")


def test_the_scrubber_masks_raw_and_url_encoded_forms_and_leaves_short_strings():
    scrub = Scrubber(["sk/very+secret=", "abc"])
    text = "a sk/very+secret= b sk%2Fvery%2Bsecret%3D c sk%2Fvery%2Bsecret%3D abc"
    assert scrub.text(text) == "a *** b *** c *** abc"
    assert scrub.bytes(b"key=sk/very+secret=") == b"key=***"
    assert scrub.value({"url": "x?k=sk/very+secret=", "n": [1, "sk/very+secret="]}) == {"url": "x?k=***", "n": [1, "***"]}
