"""Epoch GPU clusters on the real snapshot file: values from ../shared/data/epoch_gpu_clusters/SOURCES.md, the counting rules, the partial year, drift."""

from __future__ import annotations

import csv
import io

import polars as pl
import pytest

from fetchers.curated import epoch_clusters
from fetchers.errors import SchemaDriftError

from .conftest import parse_snapshot_file, shared_file, snapshot_payload, value, with_content

FILE = "gpu_clusters_gpu_clusters.csv"
INDICATOR = "gpu_cluster_capacity_h100e"
# (country, year, cumulative H100e as SOURCES.md states it, rounded there to 0.1)
STATED = [
    ("USA", 2020, 7556.2), ("USA", 2023, 135344.2), ("USA", 2024, 753113.2), ("USA", 2025, 1238989.1),
    ("CHN", 2020, 6601.0), ("CHN", 2023, 31631.0), ("CHN", 2024, 88031.0), ("CHN", 2025, 106031.0),
    ("WLD", 2024, 986425.7), ("WLD", 2025, 1556724.0),
]


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return parse_snapshot_file("epoch_clusters", FILE)


@pytest.mark.parametrize("country,year,expected", STATED)
def test_values_stated_in_sources_md(frame, country, year, expected):
    assert value(frame, INDICATOR, country, year) == pytest.approx(expected, abs=0.051)


def test_the_partial_year_is_provisional_and_earlier_years_measured(frame):
    kinds = dict(frame.group_by("year").agg(pl.col("value_kind").unique()).iter_rows())
    assert kinds.pop(2025) == ["provisional"]
    assert all(k == ["measured"] for k in kinds.values())


def test_agrees_with_the_shared_derived_file_everywhere(frame):
    # derive_gpu_clusters_by_country_year.py used the same filters; it never subtracts decommissioning, which
    # changes nothing here because no decommissioned cluster passes Epoch's standard-analysis filter.
    # The script also skips calendar years in which no cluster anywhere started (2013); the parser carries the
    # stock through them, so the comparison runs on the script's years and the extra years repeat the year before.
    derived = pl.read_csv(shared_file("epoch_gpu_clusters", "derived_gpu_clusters_h100e_by_country_year.csv"))
    for label, code in (("China", "CHN"), ("United States of America", "USA"), ("ALL", "WLD"), ("Japan", "JPN")):
        want = derived.filter(pl.col("country") == label).sort("year")
        got = dict(frame.filter(pl.col("country") == code).select("year", "value").iter_rows())
        assert set(want["year"]) <= set(got), label
        assert [got[y] for y in want["year"]] == pytest.approx(want["h100e_cum"].to_list(), abs=0.051), label
        for year in set(got) - set(want["year"]):
            assert got[year] == got[year - 1], (label, year)


def test_planned_and_unstandard_clusters_never_count(frame):
    rows = list(csv.DictReader(io.StringIO(snapshot_payload("epoch_clusters", FILE).content.decode("utf-8"))))
    counted = epoch_clusters.counted_clusters(snapshot_payload("epoch_clusters", FILE).content)
    eligible = [r for r in rows if r["Status"] in ("Existing", "Decommissioned")
                and r["Include in Standard Analysis"] == "True" and r["First Operational Date"] and r["H100 equivalents"]]
    assert len(counted) == len(eligible)
    planned = sum(float(r["H100 equivalents"] or 0) for r in rows if r["Status"] == "Planned")
    assert planned > 0  # the file has planned capacity, and none of it is in the totals:
    last = max(start for _, start, _, _ in counted)
    assert value(frame, INDICATOR, "WLD", last) == pytest.approx(sum(c for *_, c in counted))


def test_blank_countries_count_in_the_world_only(frame):
    counted = epoch_clusters.counted_clusters(snapshot_payload("epoch_clusters", FILE).content)
    assert any(code == "" for code, *_ in counted)
    per_country = frame.filter(~pl.col("country").is_in(["WLD"])).group_by("year").agg(pl.col("value").sum())
    world = frame.filter(pl.col("country") == "WLD").select("year", pl.col("value").alias("world"))
    gap = per_country.join(world, on="year").with_columns(gap=pl.col("world") - pl.col("value"))
    assert (gap["gap"] >= -1e-6).all() and (gap["gap"] > 0).any()


def _edited(transform) -> bytes:
    payload = snapshot_payload("epoch_clusters", FILE)
    reader = csv.DictReader(io.StringIO(payload.content.decode("utf-8")))
    rows = [transform(dict(r)) for r in reader]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def test_a_decommissioned_cluster_stops_counting_in_its_year():
    # Take the largest counted US cluster and give it a decommissioning date in 2024.
    payload = snapshot_payload("epoch_clusters", FILE)
    counted = epoch_clusters.counted_clusters(payload.content)
    before = epoch_clusters.capacity_readings(payload.content, epoch_clusters.Options())
    rows = list(csv.DictReader(io.StringIO(payload.content.decode("utf-8"))))
    target = max((r for r in rows if r["Country"] == "United States of America" and r["Status"] == "Existing"
                  and r["Include in Standard Analysis"] == "True" and r["First Operational Date"][:4] < "2024"
                  and r["H100 equivalents"]), key=lambda r: float(r["H100 equivalents"]))

    def decommission(row):
        if row["Name"] == target["Name"]:
            row["Decommissioned Date (if applicable)"] = "2024-06-30"
        return row

    after = epoch_clusters.capacity_readings(_edited(decommission), epoch_clusters.Options())
    get = lambda readings, year: next(r.value for r in readings if r.country == "USA" and r.year == year)
    assert get(after, 2023) == pytest.approx(get(before, 2023))
    assert get(before, 2024) - get(after, 2024) == pytest.approx(float(target["H100 equivalents"]))
    assert len(counted) > 0


def test_an_unknown_status_or_unmapped_country_fails_loudly():
    payload = snapshot_payload("epoch_clusters", FILE)
    renamed = _edited(lambda r: {**r, "Status": "Rumoured"} if r["Status"] == "Planned" else r)
    with pytest.raises(SchemaDriftError, match="Rumoured"):
        epoch_clusters.parse_epoch_gpu_clusters(with_content(payload, renamed), {})
    relabelled = _edited(lambda r: {**r, "Country": "Atlantis"} if r["Country"] == "Japan" else r)
    with pytest.raises(SchemaDriftError, match="Atlantis"):
        epoch_clusters.parse_epoch_gpu_clusters(with_content(payload, relabelled), {})
