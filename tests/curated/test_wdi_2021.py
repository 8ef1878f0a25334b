"""WDI 2021 extracts (high-tech exports, charges for the use of IP) on their real snapshot files: values from ../shared/data/worldbank_wdi/SOURCES.md, vintage, layout."""

from __future__ import annotations

import polars as pl
import pytest

from fetchers.registry import SNAPSHOT_PARSERS
from indicators.catalog import load_catalog
from fetchers.snapshot import SNAPSHOT_ROOT, load_manifests, payload_for
from fetchers.errors import SchemaDriftError

from .conftest import value, with_content

WDI_DIR = SNAPSHOT_ROOT / "worldbank"
# The catalog names the World Bank series (Catalog.series_map): the one code → indicator, unit map.
WDI_SERIES = load_catalog().series_map("worldbank")
FILES = {
    "TX.VAL.TECH.CD": ("API_TX.VAL.TECH.CD_from_WDI_topic14_2021-09-15.csv", "hightech_exports", "usd"),
    "TX.VAL.TECH.MF.ZS": ("API_TX.VAL.TECH.MF.ZS_from_WDI_topic14_2021-09-15.csv", "hightech_exports_pct_manuf", "pct"),
    "BX.GSR.ROYL.CD": ("API_BX.GSR.ROYL.CD_from_WDI_topic14_2021-09-15.csv", "ip_receipts", "usd"),
    "BM.GSR.ROYL.CD": ("API_BM.GSR.ROYL.CD_from_WDI_topic14_2021-09-15.csv", "ip_payments", "usd"),
}
# (WDI code, country, year, value as SOURCES.md states it, read from the file)
STATED = [
    ("TX.VAL.TECH.CD", "CHN", 2020, 757723684192),
    ("TX.VAL.TECH.CD", "USA", 2018, 156037130461),
    ("TX.VAL.TECH.CD", "USA", 2020, 143489383252),
    ("TX.VAL.TECH.MF.ZS", "CHN", 2018, 31.4695809260897),
    ("TX.VAL.TECH.MF.ZS", "USA", 2020, 19.7523940308825),
    ("BX.GSR.ROYL.CD", "CHN", 2018, 5561288668.09),
    ("BX.GSR.ROYL.CD", "CHN", 2020, 8554460469.53),
    ("BX.GSR.ROYL.CD", "USA", 2018, 118874000000),
    ("BX.GSR.ROYL.CD", "USA", 2020, 114045000000),
    ("BM.GSR.ROYL.CD", "CHN", 2020, 37781733949.96),
    ("BM.GSR.ROYL.CD", "USA", 2020, 40682000000),
]
# (WDI code, country, first year, last year) as SOURCES.md states the coverage
COVERAGE = [
    ("TX.VAL.TECH.CD", "CHN", 2007, 2020), ("TX.VAL.TECH.CD", "USA", 2007, 2020),
    ("TX.VAL.TECH.MF.ZS", "CHN", 2007, 2019), ("TX.VAL.TECH.MF.ZS", "USA", 2007, 2020),
    ("BX.GSR.ROYL.CD", "CHN", 1982, 2020), ("BX.GSR.ROYL.CD", "USA", 1970, 2020),
]


def _payload(code: str):
    file = FILES[code][0]
    entry = next(e for e in load_manifests(WDI_DIR) if e.file == file)
    return entry, payload_for(entry, entry.path.read_bytes())


def _parse(code: str) -> pl.DataFrame:
    entry, payload = _payload(code)
    return SNAPSHOT_PARSERS[entry.parser](payload, {**entry.options, "series": WDI_SERIES})


@pytest.mark.parametrize("code,country,year,expected", STATED)
def test_values_stated_in_sources_md(code, country, year, expected):
    frame = _parse(code)
    assert value(frame, FILES[code][1], country, year) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("code,country,first,last", COVERAGE)
def test_years_covered_as_sources_md_states(code, country, first, last):
    years = _parse(code).filter(pl.col("country") == country)["year"]
    assert (years.min(), years.max()) == (first, last)


@pytest.mark.parametrize("code", sorted(FILES))
def test_the_vintage_is_the_2021_release_and_units_follow_the_catalog(code):
    entry, _ = _payload(code)
    frame = _parse(code)
    assert entry.parser == "worldbank.bulk_csv"  # the live fetcher's own bulk-CSV parser
    assert set(frame["vintage"]) == {"2021-09-15"}
    assert set(frame["indicator"]) == {FILES[code][1]} and set(frame["unit"]) == {FILES[code][2]}
    assert set(frame["source_series"]) == {code}
    assert (frame["year_start"] == frame["year"]).all()
    # Aggregates (regions, income groups) are dropped by the mapping file; the world total is kept.
    assert "WLD" in set(frame["country"]) and not {"EAS", "HIC", "LMY"} & set(frame["country"])


def test_chinas_early_ip_receipts_are_the_files_zeros_then_a_gap():
    # The catalog caveat says 0 in 1982-1993 and nothing in 1994-1996: check it against the file.
    chn = _parse("BX.GSR.ROYL.CD").filter(pl.col("country") == "CHN").sort("year")
    early = dict(zip(chn["year"].to_list(), chn["value"].to_list()))
    assert all(early[y] == 0 for y in range(1982, 1994))
    assert not {1994, 1995, 1996} & set(early)
    assert early[1997] > 0


def test_a_file_cut_short_is_a_schema_drift():
    _, payload = _payload("TX.VAL.TECH.CD")
    lines = payload.content.decode("utf-8").splitlines(keepends=True)
    china = next(i for i, line in enumerate(lines) if line.startswith('"China","CHN"'))
    lines[china] = ",".join(lines[china].split(",")[:20]) + "\n"
    with pytest.raises(SchemaDriftError, match="cells"):
        _parse_bytes("TX.VAL.TECH.CD", "".join(lines).encode("utf-8"))


def _parse_bytes(code: str, content: bytes) -> pl.DataFrame:
    entry, payload = _payload(code)
    return SNAPSHOT_PARSERS[entry.parser](with_content(payload, content), {**entry.options, "series": WDI_SERIES})
