"""As-of backtests: rows only for later observed years, coverage and crossover hits."""

import json

import numpy as np
import polars as pl
import pytest

from forecasts import ForecastConfig, SeriesSpec, backtest_pair
from forecasts.backtest import actual_crossing, interval_hit

CONFIG = ForecastConfig(n_paths=300, models=("rw_drift", "theta"), backtest_origins=2)


@pytest.fixture(scope="module")
def vc_backtest(ai_vc):
    return backtest_pair(ai_vc, SeriesSpec("ai_vc_investment", "log"), CONFIG, from_year=2015)


def test_each_as_of_is_scored_only_on_later_years(vc_backtest):
    f = vc_backtest.forecasts
    assert (f["year"] > f["as_of"]).all()
    assert sorted(set(f["as_of"])) == list(range(2015, 2025))
    assert f.filter(pl.col("as_of") == 2015).height == 2 * 10  # both countries, 2016–2025


def test_summary_matches_the_rows(vc_backtest):
    f, s = vc_backtest.forecasts, vc_backtest.summary
    assert s["coverage_80"] == pytest.approx(f["in_80"].mean())
    assert s["coverage_95"] >= s["coverage_80"]
    assert s["mase"] == pytest.approx(f["scaled_error"].mean())


def test_crossover_rows_read_the_actual_crossing(vc_backtest):
    rows = {r["as_of"]: r for r in vc_backtest.crossovers.iter_rows(named=True)}
    # As of 2016 the USA led; China passed it in 2017.
    assert rows[2016]["leader_now"] == "USA" and rows[2016]["actual_crossing_year"] == 2017
    # As of 2017 China led; the USA passed it back in 2018.
    assert rows[2017]["leader_now"] == "CHN" and rows[2017]["status"] == "already_crossed"
    assert rows[2017]["actual_crossing_year"] == 2018


def test_actual_crossing_ignores_years_before_as_of(ai_vc):
    assert actual_crossing(ai_vc, ("CHN", "USA"), "USA", 2018) == (None, 2025)
    assert actual_crossing(ai_vc, ("CHN", "USA"), "USA", 2015) == (2017, 2025)


def test_interval_hit_rules():
    assert interval_hit(2020, 2025, 2019, 2022) is True
    assert interval_hit(2020, 2025, 2021, None) is False
    assert interval_hit(2030, 2035, 2025, None) is True  # open-ended beyond the horizon
    assert interval_hit(None, 2025, 2021, 2024) is False  # should have crossed by 2024
    assert interval_hit(None, 2025, 2021, 2030) is None  # not contradicted yet
    assert interval_hit(None, 2025, None, None) is None


def test_a_run_calibration_survives_its_stored_form_and_garbage_is_refused():
    from forecasts.selection import Calibration, RunCalibration

    calibration = RunCalibration(
        {"log": Calibration(np.array([1.1, 1.3]), np.array([1.4, 1.9]), np.array([30, 20]))},
        Calibration(np.array([1.0, 1.2]), np.array([1.5, 1.6]), np.array([50, 40])),
    )
    back = RunCalibration.from_json(json.loads(json.dumps(calibration.to_json())))
    assert back.for_scale("log").outer.tolist() == [1.4, 1.9]
    assert back.for_scale("level").inner.tolist() == [1.0, 1.2]  # a scale the run never took: the pool of all
    for garbage in ({}, {"default": {"inner": [1.0]}, "by_scale": {}},
                    {"default": {"inner": [1.0], "outer": [1.0, 2.0], "n_pooled": [1]}, "by_scale": {}},
                    {"default": {"inner": ["x"], "outer": [1.0], "n_pooled": [1]}, "by_scale": {}}):
        with pytest.raises(ValueError):
            RunCalibration.from_json(garbage)
