"""Dimension forecasts: score paths from indicator paths × Dirichlet weight draws, parity crossover."""

import numpy as np
import polars as pl
import pytest

from forecasts import ForecastConfig, SeriesSpec, forecast_dimension, forecast_pair
from forecasts.dimension import share_paths

from forecast_helpers import swap_labels

CONFIG = ForecastConfig(n_paths=400, models=("rw_drift", "theta"), backtest_origins=2)
WEIGHTS = {"ai_papers": 2.0, "ai_vc_investment": 1.0}


def _shares(frames: dict[str, pl.DataFrame]) -> pl.DataFrame:
    rows = []
    for indicator, frame in frames.items():
        wide = frame.pivot(on="country", index="year", values="value").drop_nulls()
        rows.append(wide.select(pl.lit(indicator).alias("indicator"), "year", (pl.col("CHN") / (pl.col("CHN") + pl.col("USA"))).alias("share")))
    return pl.concat(rows)


def _dimension(papers, vc, **kwargs):
    frames = {"ai_papers": papers, "ai_vc_investment": vc}
    forecasts = {name: forecast_pair(frame, SeriesSpec(name, "log"), CONFIG) for name, frame in frames.items()}
    return forecast_dimension(forecasts, _shares(frames), WEIGHTS, 12.0, CONFIG, subject="cohesion", **kwargs)


@pytest.fixture(scope="module")
def cohesion(ai_papers, ai_vc):
    return _dimension(ai_papers, ai_vc)


def test_score_paths_are_shares_and_bands_nest(cohesion):
    assert cohesion.status == "ok"
    assert np.nanmin(cohesion.paths) >= 0.0 and np.nanmax(cohesion.paths) <= 1.0
    f = cohesion.forecasts
    assert f.height == cohesion.path_years.size
    assert ((f["lo_95"] <= f["lo_80"]) & (f["lo_80"] <= f["mean"]) & (f["mean"] <= f["hi_80"]) & (f["hi_80"] <= f["hi_95"])).all()
    assert cohesion.crossover.kind == "dimension" and cohesion.crossover.pair == "CHN-USA"
    assert cohesion.crossover.n_paths == 400


def test_history_score_is_the_nominal_weighted_mean(cohesion, ai_papers, ai_vc):
    shares = _shares({"ai_papers": ai_papers, "ai_vc_investment": ai_vc})
    share = dict(((i, y), s) for i, y, s in shares.iter_rows())
    row = cohesion.history.filter(pl.col("year") == 2020)
    expected = (2 * share[("ai_papers", 2020)] + share[("ai_vc_investment", 2020)]) / 3
    assert row["score"][0] == pytest.approx(expected)
    assert row["weight_nowcast"][0] == 0.0
    # The VC series runs to 2025, after the papers end in 2023: the dimension's data end in 2025, and the papers
    # enter 2024–2025 with their nowcast (2 of the 3 weight units) instead of dropping out.
    assert cohesion.data_end == 2025 and cohesion.history["year"].max() == 2025
    late = cohesion.history.filter(pl.col("year") == 2025)
    assert late["n_present"][0] == 2 and late["weight_nowcast"][0] == pytest.approx(2 / 3)
    assert late["lo_95"][0] <= late["score"][0] <= late["hi_95"][0]
    assert cohesion.path_years[0] == 2026


def test_same_seed_same_dimension(ai_papers, ai_vc, cohesion):
    again = _dimension(ai_papers, ai_vc)
    assert again.paths.tobytes() == cohesion.paths.tobytes()


def test_swapping_the_countries_mirrors_the_score_and_keeps_the_crossover_years(ai_papers, ai_vc, cohesion):
    swapped = _dimension(swap_labels(ai_papers), swap_labels(ai_vc))
    np.testing.assert_allclose(swapped.paths, 1.0 - cohesion.paths, atol=1e-12)
    a, b = cohesion.crossover, swapped.crossover
    assert (a.median_year, a.lo_80, a.hi_80, a.lo_95, a.hi_95) == (b.median_year, b.lo_80, b.hi_80, b.lo_95, b.hi_95)
    assert {a.leader_now, b.leader_now} == {"CHN", "USA"}


def test_years_failing_the_coverage_rule_get_no_score(ai_papers, ai_vc):
    frames = {"ai_papers": ai_papers, "ai_vc_investment": ai_vc}
    only_papers = {"ai_papers": forecast_pair(ai_papers, SeriesSpec("ai_papers", "log"), CONFIG)}
    result = forecast_dimension(only_papers, _shares(frames), WEIGHTS, 12.0, CONFIG, subject="cohesion", min_indicators=2)
    # History needs both indicators: 2024–2025 have VC's observed share and the papers' nowcast, so they score;
    # after the data end (2025) only the papers have paths, one indicator, and every forecast year fails.
    assert result.history["year"].max() == 2025
    assert result.history.filter(pl.col("year") > 2023)["weight_nowcast"].to_list() == pytest.approx([2 / 3, 2 / 3])
    assert result.forecasts.height == 0
    assert any("coverage" in w for w in result.warnings)


def test_a_member_that_stops_a_year_early_does_not_change_the_leader(ai_papers, ai_vc):
    """The real pair series, with the VC series truncated to end before the papers do: the papers' last year keeps
    the leader it has with full data (VC enters with its nowcast), where dropping VC would hand the year to the
    papers' leader alone."""
    year = 2023
    equal = {"ai_papers": 1.0, "ai_vc_investment": 1.0}  # 2023: papers' share 0.674, VC's 0.226 → the US leads

    def dimension(papers, vc):
        frames = {"ai_papers": papers, "ai_vc_investment": vc}
        forecasts = {name: forecast_pair(frame, SeriesSpec(name, "log"), CONFIG) for name, frame in frames.items()}
        return forecast_dimension(forecasts, _shares(frames), equal, 4.0, CONFIG, subject="cohesion")

    full = dimension(ai_papers, ai_vc)
    truncated = dimension(ai_papers, ai_vc.filter(pl.col("year") < year))
    assert truncated.data_end == year
    rows = {name: r.history.filter(pl.col("year") == year) for name, r in (("full", full), ("truncated", truncated))}
    assert rows["full"]["weight_nowcast"][0] == 0.0
    assert rows["truncated"]["weight_nowcast"][0] == pytest.approx(1 / 2)
    leader = {name: "CHN" if row["score"][0] > 0.5 else "USA" for name, row in rows.items()}
    assert leader["truncated"] == leader["full"] == "USA"
    assert truncated.crossover.leader_now == "USA"
    # Without the nowcast the year would be the papers' share alone, and China would lead it.
    papers_share = _shares({"ai_papers": ai_papers}).filter(pl.col("year") == year)["share"][0]
    assert papers_share > 0.5


def test_nothing_to_forecast_is_insufficient(ai_papers):
    shares = _shares({"ai_papers": ai_papers})
    result = forecast_dimension({}, shares, WEIGHTS, 12.0, CONFIG, subject="values")
    assert result.status == "insufficient_data" and result.crossover.status == "insufficient_data"


def test_lower_is_better_share_is_the_other_side():
    a, b = np.array([[1.0, 3.0]]), np.array([[3.0, 1.0]])
    np.testing.assert_allclose(share_paths(a, b, False), [[0.25, 0.75]])
    np.testing.assert_allclose(share_paths(a, b, True), [[0.75, 0.25]])
    assert np.isnan(share_paths(np.array([-1.0]), np.array([1.0]), False)[0])
