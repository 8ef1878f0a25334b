"""The embedded snapshot in, `tests/golden/dimensions_snapshot.csv` (the four dimension scores per year) out: `python -m tests.golden.regen_dimensions`."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from fetchers.curated.snapshot import SnapshotFetcher
from indicators.catalog import load_catalog
from indicators.composites import score_observations

GOLDEN = Path(__file__).with_name("dimensions_snapshot.csv")
N_DRAWS = 2000
SEED = 0


def snapshot_observations() -> pl.DataFrame:
    fetcher = SnapshotFetcher()
    query = SnapshotFetcher.Query()
    return fetcher.transform(fetcher.extract(query, client=None), query)


def snapshot_dimension_scores() -> pl.DataFrame:
    """The dimension scores the golden file pins: snapshot → selection → derived → pair shares → scores."""
    _, _, scores = score_observations(snapshot_observations(), load_catalog(), n_draws=N_DRAWS, seed=SEED)
    return scores.sort("dimension", "year")


def main() -> None:
    scores = snapshot_dimension_scores()
    scores.write_csv(GOLDEN, float_precision=None)
    ok = scores.filter(pl.col("status") == "ok")
    print(f"wrote {GOLDEN} ({scores.height} rows)")
    summary = scores.group_by("dimension").agg(
        years=pl.len(),
        ok_years=(pl.col("status") == "ok").sum(),
        first_ok=pl.col("year").filter(pl.col("status") == "ok").min(),
        last_ok=pl.col("year").filter(pl.col("status") == "ok").max(),
    ).sort("dimension")
    print(summary)
    print(ok.sort("dimension", "year").group_by("dimension").tail(3))


if __name__ == "__main__":
    main()
