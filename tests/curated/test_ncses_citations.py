"""NCSES top-cited tables on their real snapshot files: values from ../shared/data/ncses_citations/SOURCES.md, the inferred-year rule, `ne`/`na`, the duplicated-line rule, labels."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from fetchers.curated import ncses_citations
from fetchers.errors import SchemaDriftError

from .conftest import parse_snapshot_file, shared_file, snapshot_payload, value, with_content

# (file, indicator, country, year, value as SOURCES.md states it)
STATED = [
    ("10037_data.csv", "cis_top1pct_share_frac", "USA", 2003, 2.11),
    ("10037_data.csv", "cis_top1pct_share_frac", "USA", 2010, 2.86),
    ("10037_data.csv", "cis_top1pct_share_frac", "USA", 2018, 2.23),
    ("10037_data.csv", "cis_top1pct_share_frac", "USA", 2020, 1.63),
    ("10037_data.csv", "cis_top1pct_share_frac", "CHN", 2003, 0.33),
    ("10037_data.csv", "cis_top1pct_share_frac", "CHN", 2010, 0.39),
    ("10037_data.csv", "cis_top1pct_share_frac", "CHN", 2015, 1.17),
    ("10037_data.csv", "cis_top1pct_share_frac", "CHN", 2020, 1.19),
    ("10053_data.csv", "cis_top1pct_share_whole", "USA", 2020, 1.96),
    ("10053_data.csv", "cis_top1pct_share_whole", "CHN", 2015, 1.43),
    ("10053_data.csv", "cis_top1pct_share_whole", "CHN", 2020, 1.44),
    ("10022_data.csv", "se_top1pct_share_frac", "USA", 2016, 1.75),
    ("10022_data.csv", "se_top1pct_share_frac", "USA", 2020, 1.41),
    ("10022_data.csv", "se_top1pct_share_frac", "CHN", 2016, 0.72),
    ("10022_data.csv", "se_top1pct_share_frac", "CHN", 2020, 1.09),
    ("1853_data.csv", "se_top1pct_share_full", "USA", 1996, 1.71),
    ("1853_data.csv", "se_top10pct_share_full", "USA", 1996, 14.73),
    ("1853_data.csv", "se_top1pct_share_full", "USA", 2016, 1.88),
    ("1853_data.csv", "se_top10pct_share_full", "USA", 2016, 15.02),
    ("1853_data.csv", "se_top1pct_share_full", "CHN", 1996, 0.33),
    ("1853_data.csv", "se_top10pct_share_full", "CHN", 1996, 4.17),
    ("1853_data.csv", "se_top1pct_share_full", "CHN", 2016, 1.12),
    ("1853_data.csv", "se_top10pct_share_full", "CHN", 2016, 10.67),
]
BLOCK_FILES = {"10022_data.csv": "se_top1pct_share_frac", "10037_data.csv": "cis_top1pct_share_frac",
               "10053_data.csv": "cis_top1pct_share_whole"}


@pytest.mark.parametrize("file,indicator,country,year,expected", STATED)
def test_values_stated_in_sources_md(file, indicator, country, year, expected):
    assert value(parse_snapshot_file("ncses", file), indicator, country, year) == pytest.approx(expected)


@pytest.mark.parametrize("file", sorted(BLOCK_FILES))
def test_inferred_years_cover_2003_2020_and_say_so(file):
    frame = parse_snapshot_file("ncses", file)
    assert (frame["year"].min(), frame["year"].max()) == (2003, 2020)
    assert frame["source_series"].str.ends_with(":year-inferred").all()
    assert (frame["year_start"] == frame["year"]).all()  # annual values, the year is just not printed
    assert set(frame.filter(pl.col("country") == "WLD")["value"]) == {1.0}  # the world is 1.0 by construction


@pytest.mark.parametrize("file", sorted(BLOCK_FILES))
def test_the_parser_re_derives_the_years_of_the_shared_derived_files(file):
    # The shared folder's derive_top1pct_long.py applied the same rule; both must agree on every number.
    table = file.split("_")[0]
    derived = pl.read_csv(shared_file("ncses_citations", f"derived_top1pct_{table}_long.csv"), infer_schema_length=0)
    ours = parse_snapshot_file("ncses", file)
    for country, entity in (("CHN", "China"), ("USA", "United States"), ("WLD", "World")):
        want = derived.filter(pl.col("entity") == entity).filter(~pl.col("value").is_in(["ne", "na"]))
        got = ours.filter(pl.col("country") == country).sort("year")
        assert got["year"].to_list() == [int(y) for y in want["year"]]
        assert got["value"].to_list() == pytest.approx([float(v) for v in want["value"]])


def test_ne_and_na_cells_are_missing_rows_not_zeros():
    frame = parse_snapshot_file("ncses", "10037_data.csv")
    rows = list(csv.DictReader(io.StringIO(snapshot_payload("ncses", "10037_data.csv").content.decode())))
    greenland = [r for r in rows if r["time_period"] == "World -> North America -> Greenland"]
    missing = {2003 + k for k, r in enumerate(greenland) if r["value"] in ("ne", "na")}
    assert missing  # the file has `ne` cells for Greenland
    years = set(frame.filter(pl.col("country") == "GRL")["year"])
    assert not years & missing and years | missing == set(range(2003, 2021))
    assert 0.0 in set(frame.filter(pl.col("country") == "PRI")["value"])  # a real zero stays a zero


def test_a_duplicated_line_is_read_once_and_a_conflicting_duplicate_fails():
    # SOURCES.md warns of a duplicated r002 line in 1853; this copy has none, so duplicate it and check the rule.
    payload = snapshot_payload("ncses", "1853_data.csv")
    lines = payload.content.decode("utf-8").splitlines(keepends=True)
    r002 = next(i for i, line in enumerate(lines) if line.startswith("1853,r002,"))
    doubled = with_content(payload, "".join(lines[: r002 + 1] + [lines[r002]] + lines[r002 + 1:]).encode())
    options = payload.extra["options"]
    assert ncses_citations.parse_ncses_wide_measures(doubled, options).equals(
        ncses_citations.parse_ncses_wide_measures(payload, options).with_columns(
            pl.lit(doubled.sha256).alias("snapshot_id")))
    conflicting = lines[r002].replace(",0.62,3.5,7.46,", ",0.99,3.5,7.46,", 1)
    assert conflicting != lines[r002]
    broken = with_content(payload, "".join(lines[: r002 + 1] + [conflicting] + lines[r002 + 1:]).encode())
    with pytest.raises(SchemaDriftError, match="r002 appears twice"):
        ncses_citations.parse_ncses_wide_measures(broken, options)


def _block_payload_without(row_id: str):
    payload = snapshot_payload("ncses", "10037_data.csv")
    lines = payload.content.decode("utf-8").splitlines(keepends=True)
    return payload, [line for line in lines if not line.startswith(f"10037,{row_id},")]


def test_a_block_of_another_length_breaks_the_year_rule_loudly():
    payload, lines = _block_payload_without("r3170")  # one of China's 18 rows
    with pytest.raises(SchemaDriftError, match="China.*17 rows"):
        ncses_citations.parse_ncses_year_blocks(with_content(payload, "".join(lines).encode()),
                                                payload.extra["options"])


def test_a_block_off_its_boundary_breaks_the_year_rule_loudly():
    # Renumber China's block one row later: every year would shift, so the parser must refuse it.
    payload = snapshot_payload("ncses", "10037_data.csv")
    rows = list(csv.reader(io.StringIO(payload.content.decode("utf-8"))))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if row[2] == "World -> Asia -> China":
            row[1] = f"r{int(row[1][1:]) + 1000}"
        writer.writerow(row)
    with pytest.raises(SchemaDriftError, match="aligned block"):
        ncses_citations.parse_ncses_year_blocks(with_content(payload, out.getvalue().encode()), payload.extra["options"])


def test_options_must_state_a_year_range_the_blocks_match():
    payload = snapshot_payload("ncses", "10037_data.csv")
    wrong = {**payload.extra["options"], "first_year": 2004}
    with pytest.raises(SchemaDriftError, match="17 consecutive rows"):
        ncses_citations.parse_ncses_year_blocks(payload, wrong)


def test_html_entity_labels_resolve_and_an_unmapped_label_fails_loudly():
    frame = parse_snapshot_file("ncses", "10022_data.csv")
    raw = snapshot_payload("ncses", "10022_data.csv").content.decode()
    assert "C&#244;te d&#8217;Ivoire" in raw and "CIV" in set(frame["country"])
    payload = snapshot_payload("ncses", "10037_data.csv")
    renamed = with_content(payload, payload.content.replace(b"World -> Asia -> China,", b"World -> Asia -> Cathay,"))
    with pytest.raises(SchemaDriftError, match="Cathay"):
        ncses_citations.parse_ncses_year_blocks(renamed, payload.extra["options"])


def test_1853_gives_three_indicators_from_one_file():
    frame = parse_snapshot_file("ncses", "1853_data.csv")
    assert set(frame["indicator"]) == {"se_top1pct_share_full", "se_top5pct_share_full", "se_top10pct_share_full"}
    assert (frame["year"].min(), frame["year"].max()) == (1996, 2016)
    world = frame.filter(pl.col("country") == "WLD")
    assert dict(world.group_by("indicator").agg(pl.col("value").max()).iter_rows()) == {
        "se_top1pct_share_full": 1.0, "se_top5pct_share_full": 5.0, "se_top10pct_share_full": 10.0}
