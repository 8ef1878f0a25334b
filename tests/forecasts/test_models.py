"""Candidate models: simulated paths reproduce the libraries' analytic forecasts; fitting guards."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from forecasts.models import ModelFitError, allocate_paths, fit_model

N_PATHS = 100_000


@pytest.fixture(scope="module")
def chn_papers_log(ai_papers):
    return np.log(ai_papers.filter(ai_papers["country"] == "CHN")["value"].to_numpy())


@pytest.fixture(scope="module")
def shocks():
    return np.random.default_rng(7).standard_normal((N_PATHS, 6))


@pytest.mark.parametrize("damped", [False, True])
def test_ets_paths_match_statsmodels_prediction(chn_papers_log, shocks, damped):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    fitted = fit_model("ets_damped" if damped else "ets", chn_papers_log)
    paths = fitted.simulate(shocks, np.random.default_rng(0))
    y = pd.Series(chn_papers_log)
    result = ETSModel(y, error="add", trend="add", damped_trend=damped).fit(disp=False)
    prediction = result.get_prediction(start=y.size, end=y.size + 5)
    np.testing.assert_allclose(paths.mean(axis=0), prediction.predicted_mean, atol=2e-3)
    np.testing.assert_allclose(paths.std(axis=0), np.sqrt(prediction.var_pred_mean), rtol=0.02)


def test_local_linear_trend_paths_match_kalman_forecast(chn_papers_log, shocks):
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    paths = fit_model("llt", chn_papers_log).simulate(shocks, np.random.default_rng(0))
    forecast = UnobservedComponents(chn_papers_log, level="local linear trend").fit(disp=False).get_forecast(6)
    np.testing.assert_allclose(paths.mean(axis=0), forecast.predicted_mean, atol=2e-3)
    np.testing.assert_allclose(paths.std(axis=0), forecast.se_mean, rtol=0.02)


def test_random_walk_drift_marginals_are_student_t(chn_papers_log, shocks):
    fitted = fit_model("rw_drift", chn_papers_log)
    paths = fitted.simulate(shocks, np.random.default_rng(1))
    diffs = np.diff(chn_papers_log)
    m = diffs.size
    for h in (1, 3, 6):
        spread = diffs.std(ddof=1) * np.sqrt(h + h**2 / m)
        for q in (0.10, 0.90):
            expected = chn_papers_log[-1] + h * diffs.mean() + stats.t.ppf(q, m - 1) * spread
            assert np.quantile(paths[:, h - 1], q) == pytest.approx(expected, abs=0.01)


def test_arima_drift_mean_follows_its_recursion(chn_papers_log, shocks):
    fitted = fit_model("arima_drift", chn_papers_log)
    paths = fitted.simulate(shocks, np.random.default_rng(0))
    growth, level, expected = fitted.last_diff, fitted.last, []
    for _ in range(6):
        growth = fitted.intercept + fitted.phi * growth
        level += growth
        expected.append(level)
    np.testing.assert_allclose(paths.mean(axis=0), expected, atol=2e-3)
    assert abs(fitted.phi) <= 0.95


def test_prophet_trend_extrapolates_like_prophet(chn_papers_log):
    from prophet import Prophet

    fitted = fit_model("prophet", chn_papers_log)
    n = chn_papers_log.size
    frame = pd.DataFrame({"ds": pd.to_datetime([f"{2000 + i}-01-01" for i in range(n)]), "y": chn_papers_log})
    model = Prophet(
        n_changepoints=max(1, (n - 1) // 3),
        yearly_seasonality=False,
        weekly_seasonality=False,
        daily_seasonality=False,
        uncertainty_samples=0,
    ).fit(frame)
    future = pd.DataFrame({"ds": pd.to_datetime([f"{2000 + n - 1 + h}-01-01" for h in (0, 5)])})
    trend = model.predict(future)["trend"].to_numpy()
    assert fitted.level == pytest.approx(trend[0], abs=1e-3)
    assert fitted.slope == pytest.approx((trend[1] - trend[0]) / 5, rel=0.01)


def test_prophet_paths_are_reproducible_and_vary(chn_papers_log):
    fitted = fit_model("prophet", chn_papers_log)
    z = np.random.default_rng(3).standard_normal((500, 10))
    one = fitted.simulate(z, np.random.default_rng(11))
    two = fitted.simulate(z, np.random.default_rng(11))
    np.testing.assert_array_equal(one, two)
    assert one.shape == (500, 10) and one[:, -1].std() > one[:, 0].std()


def test_too_short_series_is_refused():
    with pytest.raises(ModelFitError):
        fit_model("ets_damped", np.log([1.0, 2.0, 3.0, 4.0]))
    with pytest.raises(ModelFitError):
        fit_model("rw_drift", np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        fit_model("no_such_model", np.arange(10.0))


@given(st.lists(st.floats(0.01, 10), min_size=1, max_size=6), st.integers(1, 5000))
def test_allocate_paths_is_exhaustive_and_proportional(weights, n_paths):
    counts = allocate_paths(np.array(weights), n_paths)
    assert counts.sum() == n_paths and (counts >= 0).all()
    exact = np.array(weights) / sum(weights) * n_paths
    assert np.all(np.abs(counts - exact) < 1.0 + 1e-9)
