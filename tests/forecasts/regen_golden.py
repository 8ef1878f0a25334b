"""The embedded snapshot in, `tests/forecasts/golden_snapshot.csv` (reviewed forecasts of a few subjects) out:
`.venv/bin/python tests/forecasts/regen_golden.py`. Review the printed table before committing."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from contracts.kinds import HISTORY_KINDS
from contracts.units import unit_spec
from fetchers.curated.snapshot import SnapshotFetcher
from forecasts import ForecastConfig, ForecastJob, SeriesSpec, forecast_many
from indicators.catalog import load_catalog
from indicators.derive import derive_all
from indicators.select import latest_by_priority

GOLDEN = Path(__file__).with_name("golden_snapshot.csv")
SUBJECTS = ("ai_papers", "gdp_usd", "top500_systems", "liberal_democracy", "unga_states_closer", "ai_vc_investment")
YEARS = (2030, 2035, 2040)
# "now" is pinned so that the golden file does not change with the calendar.
CONFIG = ForecastConfig(n_paths=2000, seed=0, current_year=2026, workers=1)


def snapshot_jobs() -> list[ForecastJob]:
    fetcher = SnapshotFetcher()
    query = SnapshotFetcher.Query()
    observations = fetcher.transform(fetcher.extract(query, client=None), query)
    catalog = load_catalog()
    history = latest_by_priority(observations.filter(pl.col("value_kind").is_in(HISTORY_KINDS)), catalog)
    history = pl.concat([history, derive_all(history, catalog)], how="diagonal_relaxed")
    jobs = []
    for subject in SUBJECTS:
        entry = catalog.get(subject)
        unit = unit_spec(entry.unit)
        bounds = tuple(entry.bounds) if entry.bounds else (unit.lower, unit.upper)
        rows = history.filter((pl.col("indicator") == subject) & pl.col("country").is_in(["CHN", "USA"]))
        jobs.append(ForecastJob(rows.select("country", "year", "value"),
                                SeriesSpec(subject, bounds=bounds, preferred_scale=entry.forecast_scale)))
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
