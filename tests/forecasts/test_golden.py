"""Golden test: a few subjects' forecasts on the embedded snapshot match the reviewed `golden_snapshot.csv`."""

from __future__ import annotations

import polars as pl
import pytest

from regen_golden import GOLDEN, golden_rows

# statsforecast's optimisers are deterministic; the tolerance allows for other BLAS/CPU rounding only.
RELATIVE = 1e-3
# The golden file keeps six decimals: a bound tail near a hard bound (1e-12 systems above 0) is compared at that.
ABSOLUTE = 1e-6


@pytest.fixture(scope="module")
def computed() -> pl.DataFrame:
    return golden_rows()


def test_snapshot_forecasts_match_the_reviewed_golden_file(computed):
    assert GOLDEN.exists(), f"{GOLDEN.name} is missing: run `.venv/bin/python tests/forecasts/regen_golden.py`"
    golden = pl.read_csv(GOLDEN).sort("subject", "country", "year")
    exact = ["subject", "country", "year", "scale", "status", "median_year"]
    assert computed.select(exact).to_dicts() == golden.select(exact).to_dicts()
    for column in ("mean", "lo_95", "hi_95"):
        got, want = computed[column].to_numpy(), golden[column].to_numpy()
        assert got == pytest.approx(want, rel=RELATIVE, abs=ABSOLUTE), column
