"""Table rendering: every format round-trips the rows; no printing, no files."""

import io
import json

import polars as pl
import pytest

from forecasts.tables import render

FRAME = pl.DataFrame(
    {"country": ["CHN", "USA"], "year": [2030, 2030], "mean": [1234567.5, 0.25], "lo_80": [1.0, None]}
)
CROSSOVERS = [
    {"subject": "ai_papers", "status": "projected", "median_year": 2031, "p_by": {2030: 0.4, 2031: 0.55}, "notes": ["a", "b"]},
    {"subject": "gerd_pct_gdp", "status": "not_within_horizon", "median_year": None, "p_by": {2030: 0.1}, "notes": []},
]


def test_csv_round_trips():
    back = pl.read_csv(io.StringIO(render(FRAME, "csv")))
    assert back.equals(FRAME)


def test_parquet_is_bytes_that_round_trip():
    data = render(FRAME, "parquet")
    assert isinstance(data, bytes)
    assert pl.read_parquet(io.BytesIO(data)).equals(FRAME)


def test_json_keeps_nested_p_by_and_nulls():
    records = json.loads(render(CROSSOVERS, "json"))
    assert records[0]["p_by"] == {"2030": 0.4, "2031": 0.55}
    assert records[1]["median_year"] is None


def test_tabular_formats_flatten_p_by_into_columns():
    back = pl.read_csv(io.StringIO(render(CROSSOVERS, "csv")))
    assert {"p_by_2030", "p_by_2031"} <= set(back.columns)
    assert back["p_by_2031"].to_list() == [0.55, None]
    assert back["notes"].to_list()[0] == "a; b"


def test_markdown_and_text_tables_show_every_column_and_row():
    md = render(FRAME, "md").splitlines()
    assert md[0] == "| country | year | mean | lo_80 |" and md[1] == "|---|---|---|---|"
    assert len(md) == 4 and "1,234,568" in md[2]
    text = render(FRAME, "table").splitlines()
    assert text[0].split() == ["country", "year", "mean", "lo_80"] and len(text) == 4


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        render(FRAME, "xlsx")
