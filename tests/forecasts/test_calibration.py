"""Calibration: on synthetic pairs with a known future, the crossover intervals cover the true year at their level.

The pairs are synthetic (not real data): noisy log-linear series — random walks with drift on the
log scale with correlated shocks — where China starts 3 log units behind and grows 0.15 a year
faster, so the true first-passage year (read off the simulated continuation) falls about six
years after the history ends. The test uses the model it calibrates (rw_drift) directly, so 100
seeds run in a few seconds.
"""

import numpy as np
import polars as pl
import pytest

from forecasts import ForecastConfig, SeriesSpec, forecast_pair
from forecasts.crossover import first_passage_years

from forecast_helpers import synthetic_log_pair

N_SEEDS = 100
CONFIG = ForecastConfig(n_paths=1000, models=("rw_drift",), backtest_origins=0, horizon=15)


def _true_passage(continuation: pl.DataFrame, trailing: str, leader: str, years: np.ndarray) -> float:
    def path(country):
        return continuation.filter(pl.col("country") == country).sort("year")["value"].to_numpy()[None, :]

    return float(first_passage_years(path(trailing), path(leader), years)[0])


def _covers(true_year: float, lower: int | None, upper: int | None) -> bool:
    if np.isnan(true_year):  # never crossed within the horizon: covered only if the interval is open-ended
        return upper is None
    return lower is not None and lower <= true_year and (upper is None or true_year <= upper)


@pytest.mark.slow
def test_crossover_intervals_cover_the_true_year_at_their_level():
    covered_80 = covered_95 = 0
    for seed in range(N_SEEDS):
        history, continuation = synthetic_log_pair(seed)
        crossover = forecast_pair(history, SeriesSpec("synthetic", "log"), CONFIG).crossover()
        leader = crossover.leader_now
        trailing = "USA" if leader == "CHN" else "CHN"
        years = np.arange(continuation["year"].min(), continuation["year"].max() + 1)
        true_year = _true_passage(continuation, trailing, leader, years)
        covered_80 += _covers(true_year, crossover.lo_80, crossover.hi_80)
        covered_95 += _covers(true_year, crossover.lo_95, crossover.hi_95)
    # Whole-year intervals cover at least their level (the boundary years carry extra mass), so
    # the acceptance band sits a little above the nominal level; 100 binomial draws at 0.8 have a
    # standard error of 0.04.
    assert 0.65 <= covered_80 / N_SEEDS <= 0.95, covered_80
    assert 0.85 <= covered_95 / N_SEEDS <= 1.0, covered_95


@pytest.mark.slow
def test_value_intervals_cover_at_their_level():
    inside_80 = inside_95 = total = 0
    for seed in range(N_SEEDS):
        history, continuation = synthetic_log_pair(1000 + seed)
        forecasts = forecast_pair(history, SeriesSpec("synthetic", "log"), CONFIG).forecasts
        joined = forecasts.join(continuation, on=["country", "year"]).filter(pl.col("year") == history["year"].max() + 5)
        inside_80 += joined.filter((pl.col("value") >= pl.col("lo_80")) & (pl.col("value") <= pl.col("hi_80"))).height
        inside_95 += joined.filter((pl.col("value") >= pl.col("lo_95")) & (pl.col("value") <= pl.col("hi_95"))).height
        total += joined.height
    assert 0.72 <= inside_80 / total <= 0.88
    assert 0.90 <= inside_95 / total <= 0.99
