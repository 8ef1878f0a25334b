"""The world panel's per-country job path (forecasts.panel) on the real CSET AI-paper series of fixtures/."""

from __future__ import annotations

import numpy as np
import polars as pl

from forecasts import ForecastConfig, SeriesSpec
from forecasts.panel import forecast_panel

SPEC = SeriesSpec(subject="ai_papers", bounds=(0.0, None), preferred_scale="log")
CONFIG = ForecastConfig(n_paths=400, workers=1, seed=11)


def _with_world(pair: pl.DataFrame) -> pl.DataFrame:
    """The pair plus an aggregate row per year (their sum, labelled WLD): the panel must leave it out."""
    world = pair.group_by("year").agg(pl.col("value").sum()).with_columns(pl.lit("WLD").alias("country"))
    return pl.concat([pair, world.select(pair.columns)])


def test_every_country_is_forecast_with_ordered_intervals_and_aggregates_are_left_out(ai_papers):
    result = forecast_panel(_with_world(ai_papers), SPEC, CONFIG, joint=["USA", "CHN", "WLD"])
    assert result.countries == ["CHN", "USA"] and "WLD" not in result.last
    f = result.forecasts
    assert f.filter(~((pl.col("lo_95") <= pl.col("lo_80")) & (pl.col("lo_80") <= pl.col("mean"))
                      & (pl.col("mean") <= pl.col("hi_80")) & (pl.col("hi_80") <= pl.col("hi_95")))).height == 0
    assert result.joint == ["USA", "CHN"]
    last = max(y for y, _ in result.last.values())
    assert result.path_years[0] == last + 1 and result.path_years[-1] >= CONFIG.horizon_year
    for country in result.joint:
        paths = result.paths[country]
        assert paths.shape == (CONFIG.n_paths, result.path_years.size) and np.all(paths >= 0)
    np.testing.assert_allclose(np.diag(result.correlation), 1.0)


def test_the_same_seed_gives_the_same_paths_and_a_short_series_is_skipped_with_its_reason(ai_papers):
    first = forecast_panel(ai_papers, SPEC, CONFIG, joint=["CHN", "USA"])
    again = forecast_panel(ai_papers, SPEC, CONFIG, joint=["CHN", "USA"])
    for country in ("CHN", "USA"):
        np.testing.assert_array_equal(first.paths[country], again.paths[country])
    short = ai_papers.filter((pl.col("country") == "CHN") | (pl.col("year") >= ai_papers["year"].max() - 3))
    result = forecast_panel(short, SPEC, CONFIG, joint=["CHN", "USA"])
    assert result.countries == ["CHN"] and result.skipped["USA"] == "4 point(s); at least 8 needed"
    assert result.joint == ["CHN"] and "USA" not in result.paths
