"""The world panel: every country (and kept aggregate) × every catalog indicator with enough history, as one
single-country forecast job each — what `bench/bench_panel.py` and the executor test forecast in one batch."""

from __future__ import annotations

import polars as pl

from aitrack.jobs.forecast import series_spec
from indicators.catalog import Catalog


def panel_jobs(observations: pl.DataFrame, catalog: Catalog, *, min_points: int | None = None) -> list:
    """One `ForecastJob(pair=(country,))` per (indicator, country) with at least `min_points` annual history values
    (default: the full-model threshold `ForecastConfig.min_points_full`), ordered by indicator then country.

    `observations`: `aitrack.jobs.forecast.history_observations` (history kinds, annual values only)."""
    from forecasts import ForecastConfig, ForecastJob

    threshold = ForecastConfig().min_points_full if min_points is None else min_points
    known = [e.id for e in catalog]
    frame = observations.filter(pl.col("indicator").is_in(known)).select("indicator", "country", "year", "value")
    counts = frame.group_by("indicator", "country").len().filter(pl.col("len") >= threshold)
    keys = counts.sort("indicator", "country").select("indicator", "country").rows()
    by_key = frame.join(counts.select("indicator", "country"), on=["indicator", "country"]).partition_by(
        "indicator", "country", as_dict=True)
    specs = {i: series_spec(catalog.get(i)) for i in {k[0] for k in keys}}
    return [ForecastJob(history=by_key[key].select("country", "year", "value"), spec=specs[key[0]], pair=(key[1],))
            for key in keys]
