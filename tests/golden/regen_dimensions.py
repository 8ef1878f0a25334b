"""The embedded snapshot in, `tests/golden/dimensions_snapshot.csv` (the four dimension scores per year) out:
`python -m tests.golden.regen_dimensions`.

The scores come through the production path: the snapshot loaded into a fresh SQLite database by the jobs
`aitrack run` uses (latest-value view, derived indicators, build), then read back through `db.read.Reader`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import polars as pl

from aitrack.jobs.snapshot import prepare_snapshot_database
from db.session import make_engine
from indicators.composites import SCORES_SCHEMA

GOLDEN = Path(__file__).with_name("dimensions_snapshot.csv")
N_DRAWS = 2000
SEED = 0


def snapshot_dimension_scores() -> pl.DataFrame:
    """The dimension scores the golden file pins, as the database stores them (build of the embedded snapshot)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'golden.db'}")
        try:
            prepared = prepare_snapshot_database(engine, n_draws=N_DRAWS, seed=SEED)
            stored, _ = prepared.reader.dimension_scores()
        finally:
            engine.dispose()
    return stored.select(list(SCORES_SCHEMA)).cast(SCORES_SCHEMA).sort("dimension", "year")


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
