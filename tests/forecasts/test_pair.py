"""Pair forecasts: interval contract, as-of, reproducibility, symmetry, correlation, guards."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts import ForecastConfig, ForecastJob, SeriesSpec, forecast_many, forecast_pair

from forecast_helpers import swap_labels, synthetic_log_pair

FAST = ForecastConfig(n_paths=500, models=("rw_drift", "ets", "arima_drift", "llt"), backtest_origins=3)
PAPERS = SeriesSpec("ai_papers", "log")


@pytest.fixture(scope="module")
def papers_forecast(ai_papers):
    return forecast_pair(ai_papers, PAPERS, ForecastConfig(n_paths=1000))


def test_forecast_frame_contract(papers_forecast):
    frame = papers_forecast.forecasts
    assert frame.columns == ["country", "model", "year", "mean", "lo_80", "hi_80", "lo_95", "hi_95"]
    assert set(frame["country"]) == {"CHN", "USA"}
    assert frame.filter(pl.col("country") == "CHN")["year"].to_list() == list(range(2024, 2039))
    assert papers_forecast.metrics.columns[:7] == ["country", "model", "mase", "coverage_80", "coverage_95", "wis", "n_origins"]
    assert papers_forecast.metrics.filter("selected").height >= 2


def test_intervals_nest(papers_forecast):
    f = papers_forecast.forecasts
    assert (f["lo_95"] <= f["lo_80"]).all() and (f["lo_80"] <= f["mean"]).all()
    assert (f["mean"] <= f["hi_80"]).all() and (f["hi_80"] <= f["hi_95"]).all()


@pytest.mark.parametrize("model", ["rw_drift", "ets", "ets_damped", "arima_drift", "llt", "prophet"])
def test_intervals_widen_with_horizon(ai_papers, model):
    config = ForecastConfig(n_paths=4000, models=(model,), backtest_origins=0)
    f = forecast_pair(ai_papers, PAPERS, config).forecasts
    for country in ("CHN", "USA"):
        mine = f.filter(pl.col("country") == country).sort("year")
        # On the log scale the width is the ratio of the bounds.
        width = np.log(mine["hi_80"].to_numpy() / mine["lo_80"].to_numpy())
        assert width[-1] > width[0]
        if model in ("rw_drift", "arima_drift", "llt"):
            assert (np.diff(width) > -1e-9).all()


def test_paths_are_the_forecasts_source(papers_forecast):
    f, years = papers_forecast.forecasts, papers_forecast.path_years
    for country, paths in papers_forecast.paths.items():
        assert paths.shape == (1000, years.size)
        row = f.filter((pl.col("country") == country) & (pl.col("year") == int(years[4])))
        assert row["mean"][0] == pytest.approx(np.median(paths[:, 4]), rel=1e-9)


def test_as_of_uses_only_data_up_to_that_year(ai_papers):
    early = forecast_pair(ai_papers, PAPERS, FAST, as_of=2020)
    changed_later = ai_papers.with_columns(
        pl.when(pl.col("year") > 2020).then(pl.col("value") * 3).otherwise(pl.col("value")).alias("value")
    )
    again = forecast_pair(changed_later, PAPERS, FAST, as_of=2020)
    assert early.history["year"].max() == 2020
    assert early.path_years[0] == 2021
    assert early.forecasts.equals(again.forecasts)
    for country in ("CHN", "USA"):
        np.testing.assert_array_equal(early.paths[country], again.paths[country])


def test_same_seed_same_output_and_another_seed_differs(ai_vc):
    spec = SeriesSpec("ai_vc_investment", "log")
    one = forecast_pair(ai_vc, spec, FAST)
    two = forecast_pair(ai_vc, spec, FAST)
    other = forecast_pair(ai_vc, spec, ForecastConfig(**{**FAST.__dict__, "seed": 1}))
    assert one.forecasts.equals(two.forecasts) and one.metrics.equals(two.metrics)
    assert one.backtest.equals(two.backtest)
    for country in ("CHN", "USA"):
        assert one.paths[country].tobytes() == two.paths[country].tobytes()
    assert not np.array_equal(one.paths["CHN"], other.paths["CHN"])


def test_two_workers_give_byte_identical_results(ai_papers, ai_vc):
    config = ForecastConfig(n_paths=300, models=("rw_drift", "ets"), backtest_origins=2, workers=2)
    jobs = [ForecastJob(ai_papers, PAPERS), ForecastJob(ai_vc, SeriesSpec("ai_vc_investment", "log"))]
    parallel = forecast_many(jobs, config)
    serial = forecast_many(jobs, ForecastConfig(**{**config.__dict__, "workers": 1}))
    for a, b in zip(parallel, serial):
        assert a.subject == b.subject and a.forecasts.equals(b.forecasts)
        for country in ("CHN", "USA"):
            assert a.paths[country].tobytes() == b.paths[country].tobytes()


def test_swapping_the_countries_swaps_paths_and_keeps_the_crossover_years(ai_vc):
    spec = SeriesSpec("ai_vc_investment", "log")
    original = forecast_pair(ai_vc, spec, FAST)
    swapped = forecast_pair(swap_labels(ai_vc), spec, FAST)
    np.testing.assert_array_equal(original.paths["CHN"], swapped.paths["USA"])
    np.testing.assert_array_equal(original.paths["USA"], swapped.paths["CHN"])
    a, b = original.crossover(), swapped.crossover()
    assert (a.median_year, a.lo_80, a.hi_80, a.lo_95, a.hi_95, a.p_by) == (b.median_year, b.lo_80, b.hi_80, b.lo_95, b.hi_95, b.p_by)
    assert (a.leader_now, b.leader_now) == ("USA", "CHN")


def test_residual_correlation_is_estimated_and_carried_into_the_paths():
    history, _ = synthetic_log_pair(3, n_history=40, correlation=0.8, gap=1.0)
    config = ForecastConfig(n_paths=4000, models=("rw_drift",), backtest_origins=0)
    result = forecast_pair(history, SeriesSpec("synthetic", "log"), config)
    # 39 overlapping errors: raw r ≈ 0.8 shrunk by (39 − 3)/(39 + 2).
    assert 0.5 < result.residual_correlation < 0.85
    first_step = np.log(result.paths["CHN"][:, 0]), np.log(result.paths["USA"][:, 0])
    assert np.corrcoef(*first_step)[0, 1] == pytest.approx(result.residual_correlation, abs=0.06)


def test_independent_pair_gets_a_small_correlation():
    history, _ = synthetic_log_pair(4, n_history=40, correlation=0.0, gap=1.0)
    result = forecast_pair(history, SeriesSpec("synthetic", "log"), ForecastConfig(models=("rw_drift",), backtest_origins=0))
    assert abs(result.residual_correlation) < 0.35


def test_short_series_get_the_simple_model_and_a_warning(ai_papers):
    result = forecast_pair(ai_papers, PAPERS, ForecastConfig(n_paths=200), as_of=2020)
    assert result.model == "rw_drift"
    assert any("short series" in w for w in result.warnings)
    assert set(result.metrics["model"]) <= {"rw_drift"}


def test_too_little_data_is_insufficient(ai_papers):
    result = forecast_pair(ai_papers, PAPERS, FAST, as_of=2016)
    assert result.status == "insufficient_data" and not result.paths
    assert result.crossover().status == "insufficient_data"


def test_targets_and_projections_never_enter_as_history(ai_papers):
    measured = ai_papers.with_columns(pl.lit("measured").alias("value_kind"))
    target = pl.DataFrame(
        {"country": ["CHN", "CHN"], "year": [2024, 2030], "value": [1e9, 1e10], "value_kind": ["target", "projection"]}
    )
    with_target = forecast_pair(pl.concat([measured, target], how="diagonal_relaxed"), PAPERS, FAST)
    plain = forecast_pair(ai_papers, PAPERS, FAST)
    assert with_target.forecasts.equals(plain.forecasts)


def test_duplicate_years_are_refused(ai_papers):
    with pytest.raises(ValueError, match="more than one value"):
        forecast_pair(pl.concat([ai_papers, ai_papers.head(1)]), PAPERS, FAST)


def test_percentages_stay_within_their_bounds_on_the_logit_scale(gerd_pct):
    result = forecast_pair(gerd_pct, SeriesSpec("gerd_pct_gdp", "logit", (0.0, 100.0)), FAST)
    f = result.forecasts
    assert (f["lo_95"] > 0).all() and (f["hi_95"] < 100).all()
    assert result.status == "ok"


def test_countries_ending_in_different_years_share_the_path_years(ai_papers):
    uneven = ai_papers.filter(~((pl.col("country") == "CHN") & (pl.col("year") == 2023)))
    result = forecast_pair(uneven, PAPERS, FAST)
    assert result.path_years[0] == 2023
    usa_2023 = ai_papers.filter((pl.col("country") == "USA") & (pl.col("year") == 2023))["value"][0]
    assert (result.paths["USA"][:, 0] == usa_2023).all()
    assert result.forecasts.filter(pl.col("country") == "USA")["year"].min() == 2024
    assert result.forecasts.filter(pl.col("country") == "CHN")["year"].min() == 2023


def test_gaps_are_interpolated_with_a_warning(ai_vc):
    gappy = ai_vc.filter(pl.col("year") != 2019)
    result = forecast_pair(gappy, SeriesSpec("ai_vc_investment", "log"), FAST)
    assert result.status == "ok" and any("interpolated" in w for w in result.warnings)
    assert 2019 not in result.backtest["year"].to_list()


def test_weighted_selection_mixes_models(ai_vc):
    config = ForecastConfig(**{**FAST.__dict__, "selection": "weighted"})
    result = forecast_pair(ai_vc, SeriesSpec("ai_vc_investment", "log"), config)
    assert result.model == "weighted"
    weights = result.metrics.group_by("country").agg(pl.col("weight").sum())
    assert np.allclose(weights["weight"].to_numpy(), 1.0)


def test_degenerate_series_still_forecast():
    # Synthetic (not real): China's count starts at zero for six years, the USA's never moves.
    years = list(range(2000, 2012))
    history = pl.DataFrame(
        {
            "country": ["CHN"] * 12 + ["USA"] * 12,
            "year": years * 2,
            "value": [0.0] * 6 + [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] + [7.0] * 12,
        }
    )
    result = forecast_pair(history, SeriesSpec("synthetic", "log"), ForecastConfig(n_paths=200, backtest_origins=2))
    assert result.status == "ok"
    assert all(np.isfinite(p).all() and (p >= 0).all() for p in result.paths.values())
    assert any("zeros" in w for w in result.warnings)
    np.testing.assert_allclose(result.paths["USA"], 7.0)


def test_backtest_under_coverage_widens_the_paths(ai_papers):
    # The USA's 2022 drop is missed by every model's backtest intervals (see the fixture).
    config = ForecastConfig(**{**FAST.__dict__, "n_paths": 2000})
    widened = forecast_pair(ai_papers, PAPERS, config)
    plain = forecast_pair(ai_papers, PAPERS, ForecastConfig(**{**config.__dict__, "widen_from_backtest": False}))
    factor = widened.interval_inflation["USA"]
    assert factor > 1.0 and plain.interval_inflation["USA"] == 1.0
    assert any("widened" in w for w in widened.warnings)
    ratio = lambda f: np.log(f["hi_80"] / f["lo_80"]).to_numpy()  # noqa: E731
    usa = lambda r: r.forecasts.filter(pl.col("country") == "USA")  # noqa: E731
    np.testing.assert_allclose(ratio(usa(widened)), factor * ratio(usa(plain)), rtol=0.02)


@st.composite
def random_pairs(draw):
    """Synthetic (not real) positive pair series of random length and shape."""
    n = draw(st.integers(3, 20))
    values = st.floats(1.0, 1e6, allow_nan=False)
    chn = draw(st.lists(values, min_size=n, max_size=n))
    usa = draw(st.lists(values, min_size=n, max_size=n))
    years = list(range(2000, 2000 + n))
    return pl.DataFrame({"country": ["CHN"] * n + ["USA"] * n, "year": years * 2, "value": chn + usa})


QUICK = ForecastConfig(n_paths=200, models=("rw_drift", "arima_drift"), backtest_origins=2, horizon=8)


@settings(max_examples=30, deadline=None)
@given(random_pairs())
def test_any_positive_pair_gives_nested_intervals_and_mirrored_swaps(history):
    spec = SeriesSpec("synthetic", "log")
    result = forecast_pair(history, spec, QUICK)
    f = result.forecasts
    assert result.status == "ok" and f.height == 2 * 8
    assert ((f["lo_95"] <= f["lo_80"]) & (f["lo_80"] <= f["mean"]) & (f["mean"] <= f["hi_80"]) & (f["hi_80"] <= f["hi_95"])).all()
    assert (f["lo_95"] >= 0).all()
    swapped = forecast_pair(swap_labels(history), spec, QUICK)
    values = {c: history.filter(pl.col("country") == c)["value"].to_list() for c in ("CHN", "USA")}
    if values["CHN"] != values["USA"]:  # identical series: the swap changes nothing at all
        assert np.array_equal(result.paths["CHN"], swapped.paths["USA"])
    a, b = result.crossover(), swapped.crossover()
    assert (a.median_year, a.lo_80, a.hi_95, a.p_by) == (b.median_year, b.lo_80, b.hi_95, b.p_by)
