"""The analyst's CSV import: a good file in full, every bad case rejected whole with its row number, never a partial import."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.observations import validate_observations
from fetchers.user import (
    REQUIRED_COLUMNS,
    NewIndicator,
    UserFetcher,
    UserFileError,
    UserQuery,
    parse_user_csv,
)

from .conftest import FIXTURES

GOOD = FIXTURES / "user_good.csv"
WHEN = datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc)
KNOWN = {"ai_industry_size", "favourability"}


def parse(content: bytes, known=KNOWN):
    return parse_user_csv(content, known_indicators=known, filename="analyst.csv", retrieved_at=WHEN)


def good_rows() -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(GOOD.read_text(encoding="utf-8")))
    return list(reader.fieldnames), list(reader)


def to_csv(header: list[str], rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_good_file_imports_every_row_with_provenance():
    result = parse(GOOD.read_bytes())
    frame = result.observations
    assert validate_observations(frame).height == frame.height == 6
    assert set(frame["source"]) == {"user"}
    assert set(frame["snapshot_id"]) == {result.sha256}
    assert set(frame["vintage"]) == {"2026-11-22"}
    china = frame.filter((pl.col("indicator") == "unga_coincidence_with_usa") & (pl.col("country") == "CHN"))
    assert china["value"].to_list() == [0.32] and china["year"].to_list() == [2024]
    assert china["source_series"][0].startswith("U.S. Department of State")
    target = frame.filter((pl.col("indicator") == "ai_industry_size") & (pl.col("year") == 2020))
    assert target["value_kind"].to_list() == ["target"]
    assert result.provenance.height == 6
    assert set(result.provenance["source_url"]) >= {"https://www.state.gov/voting-practices-in-the-united-nations/"}


def test_indicators_not_in_the_catalog_are_listed_with_their_unit():
    assert parse(GOOD.read_bytes()).new_indicators == (NewIndicator("unga_coincidence_with_usa", "share"),)
    assert parse(GOOD.read_bytes(), known=KNOWN | {"unga_coincidence_with_usa"}).new_indicators == ()


def test_optional_columns_may_be_absent():
    header, rows = good_rows()
    result = parse(to_csv([c for c in header if c not in ("licence", "notes")], rows))
    assert result.observations.height == 6
    assert result.provenance["licence"].null_count() == 6


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_missing_column_is_rejected(column):
    header, rows = good_rows()
    with pytest.raises(UserFileError, match=column) as err:
        parse(to_csv([c for c in header if c != column], rows))
    assert err.value.row is None and err.value.column == column


BAD_CELLS = [
    ("year", "2020.5", "year"),
    ("year", "twenty", "year"),
    ("year", "20200", "year"),
    ("value", "n/a", "value"),
    ("value", "", "value"),
    ("value", "1,5", "value"),
    ("value", "inf", "value"),
    ("country", "XXX", "country"),
    ("country", "China", "country"),
    ("country", "", "country"),
    ("value_kind", "forecast", "value_kind"),
    ("value_kind", "Measured", "value_kind"),
    ("indicator", "AI Papers", "indicator"),
    ("unit", "", "unit"),
    ("source", "", "source"),
    ("source_url", " ", "source_url"),
]


@pytest.mark.parametrize("row_number", [1, 4, 6])
@pytest.mark.parametrize("column,bad,named", BAD_CELLS)
def test_bad_cell_is_rejected_with_its_row_number(column, bad, named, row_number):
    header, rows = good_rows()
    rows[row_number - 1][column] = bad
    with pytest.raises(UserFileError) as err:
        parse(to_csv(header, rows))
    assert err.value.row == row_number
    assert err.value.column == named
    assert f"row {row_number}" in str(err.value)


def test_repeated_key_is_rejected_at_the_second_row():
    header, rows = good_rows()
    rows.append(dict(rows[1]))
    with pytest.raises(UserFileError, match="already given in row 2") as err:
        parse(to_csv(header, rows))
    assert err.value.row == 7


def test_one_indicator_with_two_units_is_rejected():
    header, rows = good_rows()
    rows[5]["unit"] = "bn_usd"
    with pytest.raises(UserFileError, match="unit") as err:
        parse(to_csv(header, rows))
    assert err.value.row == 6


def test_unknown_column_and_ragged_row_and_empty_file():
    header, rows = good_rows()
    with pytest.raises(UserFileError, match="vlaue"):
        parse(to_csv(header + ["vlaue"], rows))
    ragged = GOOD.read_bytes().replace(b",measured,", b",measured,extra,", 1)
    with pytest.raises(UserFileError) as err:
        parse(ragged)
    assert err.value.row == 1
    with pytest.raises(UserFileError, match="no data rows"):
        parse(",".join(header).encode() + b"\n")
    with pytest.raises(UserFileError, match="UTF-8"):
        parse(b"\xff\xfe" + GOOD.read_bytes())


def test_naive_retrieval_time_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_user_csv(GOOD.read_bytes(), known_indicators=KNOWN, filename="a.csv", retrieved_at=datetime(2026, 1, 1))


def test_user_fetcher_reads_files_and_transforms(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_bytes(GOOD.read_bytes())
    fetcher = UserFetcher(known_indicators=KNOWN)
    query = UserQuery(files=(path,), since=2020)
    payloads = fetcher.extract(query)
    assert payloads[0].url == path.resolve().as_uri() and payloads[0].source == "user"
    frame = fetcher.transform(payloads, query)
    assert frame["year"].min() == 2020 and frame.height == 5
    assert fetcher.imports(payloads)[0].new_indicators == (NewIndicator("unga_coincidence_with_usa", "share"),)


# --- never a partial import ------------------------------------------------------------------------

CORRUPTIONS = {
    "year": ["19x9", "", "3.5", "99999"],
    "value": ["abc", "", "nan", "--1"],
    "country": ["ZZZ", "U S A", ""],
    "value_kind": ["guess", "", "MEASURED"],
}
VALID_COUNTRIES = ["USA", "CHN", "WLD", "XUC", "DEU", "JPN", "IND"]


@st.composite
def user_files(draw):
    """Rows that are valid by construction, some of them with one field broken; returns (csv, first broken row)."""
    n = draw(st.integers(min_value=1, max_value=25))
    rows, first_bad = [], None
    for i in range(n):
        indicator = draw(st.sampled_from(["ai_papers", "gerd_pct_gdp", "new_thing"]))
        row = {
            "indicator": indicator,
            "country": draw(st.sampled_from(VALID_COUNTRIES)),
            "year": str(1900 + i),  # distinct years keep every key unique
            "value": repr(draw(st.floats(allow_nan=False, allow_infinity=False, width=64))),
            "unit": f"unit_of_{indicator}",
            "source": draw(st.text(alphabet="abc ,\"XYZ", min_size=1, max_size=12)).strip() or "src",
            "source_url": "https://example.org/table",
            "value_kind": draw(st.sampled_from(["measured", "estimate", "target", "claim"])),
        }
        if draw(st.booleans()) and draw(st.booleans()):
            column = draw(st.sampled_from(sorted(CORRUPTIONS)))
            row[column] = draw(st.sampled_from(CORRUPTIONS[column]))
            first_bad = first_bad or i + 1
        rows.append(row)
    return to_csv(list(REQUIRED_COLUMNS), rows), n, first_bad


# No deadline: parse time depends on machine load (xdist), not on correctness.
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(user_files())
def test_all_rows_or_an_error_at_the_first_bad_row(case):
    content, n_rows, first_bad = case
    try:
        result = parse(content)
    except UserFileError as err:
        assert first_bad is not None, f"a valid file was rejected: {err}"
        assert err.row == first_bad
        return
    assert first_bad is None, "a file with a bad row was accepted"
    assert result.observations.height == n_rows == result.provenance.height


def test_import_carries_its_payload_citation_and_licence():
    content = GOOD.read_bytes()
    result = parse(content)
    assert result.payload.content == content and result.payload.sha256 == result.sha256
    assert result.payload.source == "user" and result.payload.retrieved_at == WHEN
    assert "U.S. Department of State, Voting Practices in the United Nations 2024 " \
           "<https://www.state.gov/voting-practices-in-the-united-nations/>" in result.citation
    assert result.citation.count("U.S. Department of State") == 1  # distinct sources, not one per row
    assert result.licence == "public domain (U.S. government work)"
    [(indicator_id, unit)] = result.new_indicators  # unpacks as the importer uses it
    assert (indicator_id, unit) == ("unga_coincidence_with_usa", "share")


def test_forecast_columns_are_read_per_indicator_and_must_agree():
    header, rows = good_rows()
    header = [*header, "scale", "lower", "upper"]
    stated = [dict(r, scale="logit", lower="0", upper="1") if r["indicator"] == "unga_coincidence_with_usa"
              else dict(r, scale="", lower="", upper="") for r in rows]
    result = parse(to_csv(header, stated))
    assert result.forecast_options == {"unga_coincidence_with_usa": {"scale": "logit", "bounds": (0.0, 1.0)}}
    disagreeing = [dict(r) for r in stated]
    first = next(i for i, r in enumerate(disagreeing) if r["indicator"] == "unga_coincidence_with_usa")
    second = next(i for i, r in enumerate(disagreeing) if r["indicator"] == "unga_coincidence_with_usa" and i > first)
    disagreeing[second]["upper"] = "2"
    with pytest.raises(UserFileError, match="differ from an earlier row"):
        parse(to_csv(header, disagreeing))
    bad_scale = [dict(r, scale="cubic") for r in stated]
    with pytest.raises(UserFileError, match="scale 'cubic'"):
        parse(to_csv(header, bad_scale))
