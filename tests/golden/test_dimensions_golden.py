"""Golden test: the four dimension scores on the embedded snapshot match `dimensions_snapshot.csv` within 1e-9."""

from __future__ import annotations

import polars as pl
import pytest

from indicators.composites import SCORES_SCHEMA

from .regen_dimensions import GOLDEN, snapshot_dimension_scores

TOLERANCE = 1e-9
EXACT = ["dimension", "year", "n_present", "n_indicators", "status", "leader"]
FLOATS = ["score", "lo_80", "hi_80", "lo_95", "hi_95", "weight_present"]


@pytest.fixture(scope="module")
def computed() -> pl.DataFrame:
    return snapshot_dimension_scores()


def test_dimensions_on_the_snapshot_match_the_golden_file(computed):
    assert GOLDEN.exists(), f"{GOLDEN.name} is missing: run `python -m tests.golden.regen_dimensions`"
    golden = pl.read_csv(GOLDEN, schema=SCORES_SCHEMA).sort("dimension", "year")
    assert computed.select(EXACT).to_dicts() == golden.select(EXACT).to_dicts()
    for column in FLOATS:
        got, want = computed[column], golden[column]
        assert got.is_null().to_list() == want.is_null().to_list(), column
        gap = (got - want).abs().max()
        assert gap is None or gap <= TOLERANCE, f"{column} differs by {gap}"


def test_every_dimension_is_reported_on_the_snapshot(computed):
    # Each dimension has at least one year with data (scored or marked insufficient), never silence.
    assert set(computed["dimension"]) == {"values", "cohesion", "influence", "legitimacy"}
    ok = computed.filter(pl.col("status") == "ok")
    assert (ok["score"].is_between(0, 1)).all()
    assert computed.filter(pl.col("status") == "insufficient_data")["score"].null_count() == computed.filter(
        pl.col("status") == "insufficient_data"
    ).height
