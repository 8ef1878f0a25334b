"""Rolling-origin backtest and model choice: scores, no look-ahead, the choice rule."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from forecasts.selection import (
    ModelScore,
    choose_models,
    interval_score,
    origin_cutoffs,
    rolling_origin,
    weighted_interval_score,
)


def test_interval_score_is_width_inside_and_penalised_outside():
    lower, upper = np.array([1.0]), np.array([3.0])
    assert interval_score(np.array([2.0]), lower, upper, 0.2)[0] == pytest.approx(2.0)
    # 0.5 below the interval at alpha 0.2 costs 2/0.2 × 0.5 = 5 on top of the width.
    assert interval_score(np.array([0.5]), lower, upper, 0.2)[0] == pytest.approx(7.0)
    assert interval_score(np.array([4.0]), lower, upper, 0.05)[0] == pytest.approx(2.0 + 40.0)


def test_weighted_interval_score_prefers_the_calibrated_forecast():
    rng = np.random.default_rng(0)
    actual = rng.standard_normal(20_000)
    z = np.array([-1.959964, -1.281552, 0.0, 1.281552, 1.959964])
    calibrated = np.tile(z, (actual.size, 1))
    overconfident = calibrated * 0.3
    too_wide = calibrated * 3.0
    score = lambda q: weighted_interval_score(actual, q).mean()  # noqa: E731
    assert score(calibrated) < score(overconfident)
    assert score(calibrated) < score(too_wide)


@given(st.integers(0, 40), st.integers(0, 8), st.integers(1, 10))
def test_origin_cutoffs_leave_a_future_and_respect_min_train(n_points, n_origins, min_train):
    cutoffs = origin_cutoffs(n_points, n_origins, min_train)
    assert len(cutoffs) <= n_origins
    assert all(c + 1 >= min_train and c < n_points - 1 for c in cutoffs)
    assert cutoffs == sorted(cutoffs)


def test_backtest_forecasts_do_not_see_the_future(ai_papers):
    y = np.log(ai_papers.filter(ai_papers["country"] == "USA")["value"].to_numpy())
    observed = np.ones(y.size, bool)
    kwargs = dict(n_origins=3, max_step=4, n_paths=200)
    models = ("rw_drift", "arima_drift", "ets")
    base, _, _ = rolling_origin(y, observed, models, rng=np.random.default_rng(5), **kwargs)
    changed = y.copy()
    changed[-1] += 1.0  # only the last year changes
    again, _, _ = rolling_origin(changed, observed, models, rng=np.random.default_rng(5), **kwargs)
    for before, after in zip(base, again):
        assert (before.model, before.cutoff, before.step) == (after.model, after.cutoff, after.step)
        assert before.quantiles == after.quantiles  # forecasts made before the last year
    assert any(b.actual != a.actual for b, a in zip(base, again))


def test_interpolated_years_are_not_scored(ai_papers):
    y = np.log(ai_papers.filter(ai_papers["country"] == "CHN")["value"].to_numpy())
    observed = np.ones(y.size, bool)
    observed[-2] = False
    records, _, _ = rolling_origin(
        y, observed, ("rw_drift",), n_origins=3, max_step=3, n_paths=100, rng=np.random.default_rng(0)
    )
    assert records and all(r.cutoff + r.step != y.size - 2 for r in records)


def _score(model, wis):
    return ModelScore(model, mase=1.0, coverage_80=0.8, coverage_95=0.95, wis=wis, n_origins=3, n_forecasts=9)


def test_choice_is_the_lowest_score_with_ties_to_the_simpler_model():
    candidates = ("rw_drift", "ets", "llt")
    assert choose_models([_score("ets", 0.5), _score("llt", 0.7)], candidates, "best") == {"ets": 1.0}
    assert choose_models([_score("llt", 0.5), _score("rw_drift", 0.5)], candidates, "best") == {"rw_drift": 1.0}
    assert choose_models([], candidates, "best") == {"rw_drift": 1.0}


def test_weighted_choice_is_inverse_score():
    weights = choose_models([_score("rw_drift", 1.0), _score("ets", 3.0)], ("rw_drift", "ets"), "weighted")
    assert weights == pytest.approx({"rw_drift": 0.75, "ets": 0.25})


def _record(cutoff, step, actual, half_width, model="rw_drift"):
    from forecasts.selection import BacktestRecord

    q = (-2.0 * half_width, -half_width, 0.0, half_width, 2.0 * half_width)
    return BacktestRecord(model, cutoff, step, actual, q)


def test_inflation_is_one_when_the_backtest_covers():
    from forecasts.selection import interval_inflation

    records = [_record(c, 1, 0.5, 1.0) for c in range(20)]
    assert interval_inflation(records, {"rw_drift": 1.0}) == (1.0, 20)
    assert interval_inflation([], {"rw_drift": 1.0}) == (1.0, 0)


def test_inflation_widens_toward_what_would_have_covered_and_is_capped():
    from forecasts.selection import INFLATION_PRIOR_FORECASTS, MAX_INFLATION, interval_inflation

    # Errors of 2 half-widths everywhere: a factor of 2 would have covered; shrunk toward 1.
    n = 30
    factor, used = interval_inflation([_record(c, 1, 2.0, 1.0) for c in range(n)], {"rw_drift": 1.0})
    assert used == n and factor == pytest.approx((n * 2.0 + INFLATION_PRIOR_FORECASTS) / (n + INFLATION_PRIOR_FORECASTS))
    huge, _ = interval_inflation([_record(c, 1, 50.0, 1.0) for c in range(1000)], {"rw_drift": 1.0})
    assert huge <= MAX_INFLATION


def test_inflation_counts_only_chosen_models_and_distinct_forecasts():
    from forecasts.selection import interval_inflation

    covered = [_record(c, 1, 0.1, 1.0, "rw_drift") for c in range(10)]
    missed = [_record(c, 1, 5.0, 1.0, "ets") for c in range(10)]
    assert interval_inflation(covered + missed, {"rw_drift": 1.0})[0] == 1.0
    factor, used = interval_inflation(covered + missed, {"rw_drift": 0.5, "ets": 0.5})
    assert used == 10 and factor > 1.0
