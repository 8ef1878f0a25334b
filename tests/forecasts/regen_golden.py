"""The embedded snapshot in, `tests/forecasts/golden_snapshot.csv` (reviewed forecasts of a few subjects) out:
`.venv/bin/python tests/forecasts/regen_golden.py`. Review the printed table before committing."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import tempfile

from aitrack.jobs.forecast import history_observations, series_spec
from aitrack.jobs.snapshot import prepare_snapshot_database
from db.session import make_engine
from forecasts import ForecastConfig, ForecastJob, forecast_many

GOLDEN = Path(__file__).with_name("golden_snapshot.csv")
SUBJECTS = ("ai_papers", "gdp_usd", "top500_systems", "liberal_democracy", "unga_states_closer", "ai_vc_investment")
YEARS = (2030, 2035, 2040)
# "now" is pinned so that the golden file does not change with the calendar.
CONFIG = ForecastConfig(n_paths=2000, seed=0, current_year=2026, workers=1)


def snapshot_jobs() -> list[ForecastJob]:
    """The subjects' histories as `aitrack run` selects them: the snapshot loaded into a fresh SQLite database."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'golden.db'}")
        try:
            prepared = prepare_snapshot_database(engine, n_draws=200)
            history = history_observations(prepared.reader)
        finally:
            engine.dispose()
    jobs = []
    for subject in SUBJECTS:
        rows = history.filter((pl.col("indicator") == subject) & pl.col("country").is_in(["CHN", "USA"]))
        jobs.append(ForecastJob(rows.select("country", "year", "value"), series_spec(prepared.catalog.get(subject))))
    return jobs


def golden_rows() -> pl.DataFrame:
    rows = []
    for result in forecast_many(snapshot_jobs(), CONFIG):
        crossover = result.crossover()
        for row in result.forecasts.filter(pl.col("year").is_in(YEARS)).iter_rows(named=True):
            rows.append({"subject": result.subject, "country": row["country"], "year": row["year"],
                         "scale": row["scale"], "mean": row["mean"], "lo_95": row["lo_95"], "hi_95": row["hi_95"],
                         "status": crossover.status, "median_year": crossover.median_year})
    return pl.DataFrame(rows).sort("subject", "country", "year")


def main() -> None:
    rows = golden_rows()
    rows.write_csv(GOLDEN, float_precision=6)
    with pl.Config(tbl_rows=100, tbl_width_chars=200):
        print(rows)
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
