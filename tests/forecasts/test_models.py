"""The registered models against statsforecast's own forecasts, on real series (fixtures/)."""

import numpy as np
import polars as pl
import pytest

from forecasts.engine import fit_windows
from forecasts.registry import DEFAULT_MODELS, REGISTRY, expand, usable

H = 6


@pytest.fixture(scope="module")
def windows(ai_papers, gerd_pct):
    out = []
    for frame in (ai_papers, gerd_pct):
        for country in ("CHN", "USA"):
            values = frame.filter(pl.col("country") == country).sort("year")["value"].to_numpy()
            out.append(np.log(values))
    return out


def _statsforecast(model, y):
    return model.forecast(y=y, h=H, level=[80])


@pytest.mark.parametrize("alias, make", [
    ("naive", lambda: __import__("statsforecast.models", fromlist=["Naive"]).Naive()),
    ("rw_drift", lambda: __import__("statsforecast.models", fromlist=["RandomWalkWithDrift"]).RandomWalkWithDrift()),
])
def test_closed_forms_equal_statsforecast(windows, alias, make):
    fitted = fit_windows(windows, (alias,), H)[alias]
    for i, y in enumerate(windows):
        reference = _statsforecast(make(), y)
        np.testing.assert_allclose(fitted[0][i], reference["mean"], rtol=1e-10)
        sd = (reference["hi-80"] - reference["lo-80"]) / (2 * 1.2815515655446004)
        np.testing.assert_allclose(fitted[1][i], sd, rtol=1e-6)


def test_arima_is_statsforecasts_css_arima110_with_drift(windows):
    from statsforecast.models import ARIMA

    fitted = fit_windows(windows, ("arima",), H)["arima"]
    for i, y in enumerate(windows):
        reference = _statsforecast(ARIMA(order=(1, 1, 0), include_drift=True), y)
        # statsforecast estimates by maximum likelihood, ours by conditional least squares: close, not equal.
        np.testing.assert_allclose(fitted[0][i], reference["mean"], rtol=0.02, atol=0.02)


@pytest.mark.parametrize("alias", ["ets", "theta", "ses"])
def test_statsforecast_models_are_fitted_as_statsforecast_fits_them(windows, alias):
    fitted = fit_windows(windows, (alias,), H)[alias]
    for i, y in enumerate(windows):
        reference = _statsforecast(REGISTRY[alias].factory(), y)
        np.testing.assert_allclose(fitted[0][i], reference["mean"], rtol=1e-6)


def test_the_combination_averages_its_components(windows):
    fitted = fit_windows(windows, ("comb",), H)
    parts = REGISTRY["comb"].components
    np.testing.assert_allclose(fitted["comb"][0], np.mean([fitted[c][0] for c in parts], axis=0))
    np.testing.assert_allclose(fitted["comb"][1], np.median([fitted[c][1] for c in parts], axis=0))


def test_too_short_windows_are_not_fitted():
    short = [np.log(np.array([3.0, 4.0, 6.0, 7.0]))]
    fitted = fit_windows(short, ("theta", "comb", "rw_drift"), H)
    assert np.isnan(fitted["comb"][0]).all() and np.isnan(fitted["ets"][0]).all()
    assert np.isfinite(fitted["rw_drift"][0]).all()


def test_registry_is_the_one_list():
    assert set(DEFAULT_MODELS) <= set(REGISTRY)
    assert set(expand(("comb",))) == {"ets", "arima", "theta", "comb"}
    assert usable(DEFAULT_MODELS, 6) == ("naive", "rw_drift", "theta")
    for spec in REGISTRY.values():
        assert spec.min_points >= 2 and (spec.factory is not None) == (spec.engine == "statsforecast")


def test_ets_closed_form_intervals_are_statsforecasts_own(windows, gerd_pct):
    """The class-1 variances in forecasts.sfmodels give statsforecast's own AutoETS intervals on every ETS form the
    registry fits (each prefix of the real series, on the log and level scales, so that ANN, AAN and AAdN all
    occur)."""
    from statsforecast.models import AutoETS

    from forecasts.sfmodels import CopyingAutoETS

    levels = [80, 95]
    forms = set()
    series = windows + [np.exp(w) for w in windows]
    for y in series:
        for end in range(7, y.size + 1):
            prefix = y[:end].copy()
            for spec in ("AZN", "ANN"):
                reference = AutoETS(model=spec).fit(prefix)
                forms.add(reference.model_["components"][:4])
                theirs = AutoETS(model=spec).forecast(prefix, H, level=levels)
                ours = CopyingAutoETS(model=spec).forecast(prefix, H, level=levels)
                assert set(ours) == set(theirs)
                for key in theirs:
                    np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-9, atol=1e-12, equal_nan=True)
    assert {f[1] + f[3] for f in forms} >= {"NN", "AN", "AD"}, forms


@pytest.mark.parametrize("alias", ["ets", "theta"])
def test_chained_origins_carry_the_first_fit_forward(windows, alias):
    """Rolling origins of one series (a chain): the model is fitted on the first window long enough for it and its
    parameters applied to the later windows — statsforecast's fit then forward, window by window."""
    step = 2
    chain_windows, chains = [], []
    for y in windows:
        # The backtest's five origins, earliest first (those with at least three training points).
        cutoffs = [c for c in (y.size - 1 - step * k for k in range(5, 0, -1)) if c >= 2]
        chains.append(list(range(len(chain_windows), len(chain_windows) + len(cutoffs))))
        chain_windows += [y[: c + 1] for c in cutoffs]
    fitted = fit_windows(chain_windows, (alias,), H, chains=chains, step=step)[alias]
    refitted = fit_windows(chain_windows, (alias,), H)[alias]
    carried_differs = False
    for chain in chains:
        eligible = [i for i in chain if chain_windows[i].size >= REGISTRY[alias].min_points]
        assert eligible, "the fixture's series are long enough for every model"
        model = REGISTRY[alias].factory().fit(chain_windows[eligible[0]])
        for i in eligible:
            reference = model.forward(chain_windows[i], H, level=[80])
            np.testing.assert_allclose(fitted[0][i], reference["mean"], rtol=1e-9)
            if alias == "ets":  # theta borrows the random walk's spread
                sd = (reference["hi-80"] - reference["lo-80"]) / (2 * 1.2815515655446004)
                np.testing.assert_allclose(fitted[1][i], sd, rtol=1e-6)
        np.testing.assert_allclose(fitted[0][eligible[0]], refitted[0][eligible[0]], rtol=1e-9)
        carried_differs |= not np.allclose(fitted[0][eligible[-1]], refitted[0][eligible[-1]], rtol=1e-6)
        for i in set(chain) - set(eligible):
            assert np.isnan(fitted[0][i]).all()
    assert carried_differs, "a carried fit should differ from a refit somewhere, or the test shows nothing"


def test_chains_must_be_rolling_origins(windows):
    with pytest.raises(ValueError, match="points longer"):
        fit_windows([windows[0][:8], windows[0][:9]], ("theta",), H, chains=[[0, 1]], step=2)
