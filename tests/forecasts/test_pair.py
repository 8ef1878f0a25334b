"""Pair forecasts in batch: the forecast contract, hard bounds on every path, symmetry, as-of, reproducibility,
plausible long horizons and the fit metadata."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.intervals import QUANTILE_NAMES
from forecasts import ForecastConfig, ForecastJob, SeriesSpec, forecast_many, forecast_pair
from forecasts.batch import growth_guard

from forecast_helpers import swap_labels

FAST = ForecastConfig(n_paths=300, models=("naive", "rw_drift"), current_year=2026)
DEFAULT = ForecastConfig(n_paths=1000, current_year=2026)
PAPERS = SeriesSpec("ai_papers", bounds=(0.0, None), preferred_scale="log")


@pytest.fixture(scope="module")
def papers_forecast(ai_papers):
    return forecast_pair(ai_papers, PAPERS, DEFAULT)


def test_forecast_frame_contract(papers_forecast):
    frame = papers_forecast.forecasts
    assert frame.columns[:8] == ["country", "model", "year", *QUANTILE_NAMES]
    assert {"scale", "weights", "widening_80", "widening_95", "backtest_score"} <= set(frame.columns)
    for name in QUANTILE_NAMES[:-1]:
        following = QUANTILE_NAMES[QUANTILE_NAMES.index(name) + 1]
        assert (frame[name] <= frame[following]).all()
    # Paths, and forecast rows, run to the common horizon year.
    assert papers_forecast.path_years[-1] == DEFAULT.horizon_year
    for country, fit in papers_forecast.fits.items():
        assert fit["scale"] in ("log", "level") and abs(sum(fit["weights"].values()) - 1) < 1e-3
        assert fit["backtest_scores"] and len(fit["widening_80"]) == frame.filter(pl.col("country") == country).height


def test_rows_are_the_quantiles_the_paths_are_drawn_from(papers_forecast):
    f, years = papers_forecast.forecasts, papers_forecast.path_years
    for country, paths in papers_forecast.paths.items():
        row = f.filter((pl.col("country") == country) & (pl.col("year") == int(years[4]))).row(0, named=True)
        # 1,000 paths: the sample median and 80 % bounds sit within Monte Carlo error of the exact quantiles.
        spread = row["hi_80"] - row["lo_80"]
        assert abs(np.median(paths[:, 4]) - row["mean"]) < 0.1 * spread
        assert abs(np.quantile(paths[:, 4], 0.9) - row["hi_80"]) < 0.15 * spread
        assert np.mean((paths[:, 4] >= row["lo_80"]) & (paths[:, 4] <= row["hi_80"])) == pytest.approx(0.8, abs=0.04)


@st.composite
def bounded_pair(draw):
    lower = draw(st.sampled_from([0.0, -50.0, 10.0]))
    upper = lower + draw(st.sampled_from([1.0, 100.0, 500.0]))
    n = draw(st.integers(4, 18))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    rows = []
    for country in ("CHN", "USA"):
        share = np.clip(rng.uniform(0, 1) + np.cumsum(rng.normal(draw(st.floats(-0.1, 0.1)), 0.08, n)), 0, 1)
        rows += [(country, 2000 + k, float(lower + s * (upper - lower))) for k, s in enumerate(share)]
    return pl.DataFrame(rows, schema=["country", "year", "value"], orient="row"), (lower, upper)


@settings(max_examples=25, deadline=None)
@given(bounded_pair())
def test_no_path_leaves_the_bounds(case):
    history, bounds = case
    result = forecast_pair(history, SeriesSpec("bounded", bounds=bounds), FAST)
    for paths in result.paths.values():
        assert (paths >= bounds[0]).all() and (paths <= bounds[1]).all()


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31), st.floats(-0.6, 0.3))
def test_counts_never_go_negative(seed, drift):
    rng = np.random.default_rng(seed)
    rows = [(c, 2000 + k, float(v)) for c in ("CHN", "USA")
            for k, v in enumerate(np.maximum(0, 50 + np.cumsum(rng.normal(drift * 20, 15, 12))))]
    history = pl.DataFrame(rows, schema=["country", "year", "value"], orient="row")
    result = forecast_pair(history, SeriesSpec("count", bounds=(0.0, None)), FAST)
    assert all((p >= 0).all() for p in result.paths.values())


def test_swapping_the_countries_mirrors_the_crossover(ai_vc):
    spec = SeriesSpec("ai_vc_investment", bounds=(0.0, None))
    original = forecast_pair(ai_vc, spec, FAST).crossover()
    swapped = forecast_pair(swap_labels(ai_vc), spec, FAST).crossover()
    for name in ("median_year", "lo_80", "hi_80", "p_by", "p_after_horizon", "historical_crossings"):
        assert getattr(original, name) == getattr(swapped, name)
    assert {original.leader_now, swapped.leader_now} == {"CHN", "USA"}


def test_as_of_uses_only_data_up_to_that_year(ai_papers):
    early = forecast_pair(ai_papers, PAPERS, FAST, as_of=2020)
    changed_later = ai_papers.with_columns(
        pl.when(pl.col("year") > 2020).then(pl.col("value") * 10).otherwise(pl.col("value")).alias("value"))
    again = forecast_pair(changed_later, PAPERS, FAST, as_of=2020)
    assert early.forecasts.equals(again.forecasts)
    assert int(early.history["year"].max()) == 2020


def test_a_batch_is_reproducible_whatever_the_workers(ai_papers, gerd_pct):
    jobs = [ForecastJob(ai_papers, PAPERS), ForecastJob(gerd_pct, SeriesSpec("gerd", bounds=(0.0, 100.0)))]
    one = forecast_many(jobs, ForecastConfig(n_paths=300, workers=1))
    two = forecast_many(jobs, ForecastConfig(n_paths=300, workers=2))
    for a, b in zip(one, two):
        assert a.forecasts.equals(b.forecasts)
        assert all(np.array_equal(a.paths[c], b.paths[c]) for c in a.pair)


def test_too_short_a_country_is_insufficient_data(ai_papers):
    short = ai_papers.filter((pl.col("country") == "USA") | (pl.col("year") <= 2014))
    result = forecast_pair(short.filter((pl.col("country") == "USA") | (pl.col("year") <= 2013)), PAPERS, FAST)
    assert result.status == "insufficient_data" and result.crossover().status == "insufficient_data"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=3, max_size=25), st.lists(st.floats(-3, 3), min_size=1, max_size=30))
def test_growth_guard_holds_the_median_to_the_historys_pace(history_steps, model_steps):
    history = np.cumsum(np.array(history_steps))
    mean = history[-1] + np.cumsum(np.array(model_steps))
    guarded, _ = growth_guard(float(history[-1]), mean, history, damp_after=6, damping=0.8)
    changes = np.diff(history)
    limit = abs(changes.mean()) + 2 * changes.std(ddof=1) / np.sqrt(changes.size)
    steps = np.diff(np.concatenate([[history[-1]], guarded]))
    assert (np.abs(steps) <= limit + 1e-9).all()
    # Past the damping point each year's change is at most 0.8 of the year before's cap.
    for h in range(7, steps.size + 1):
        assert abs(steps[h - 1]) <= limit * 0.8 ** (h - 6) + 1e-9
    # Over h years the median never moves further than the history did over at most h years.
    for h in range(1, guarded.size + 1):
        widest = max(np.max(np.abs(history[k:] - history[:-k])) for k in range(1, min(h, history.size - 1) + 1))
        assert abs(guarded[h - 1] - history[-1]) <= widest + 1e-9


def _openalex_dl_works() -> pl.DataFrame:
    """OpenAlex's deprecated deep-learning concept (C108583219), works per year for CN and US: the snapshot's own
    recorded group_by responses (data/snapshot/openalex/dl_C108583219_<year>.json, see its manifest)."""
    import json
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "data" / "snapshot" / "openalex"
    rows = []
    for path in sorted(root.glob("dl_C108583219_*.json")):
        year = int(path.stem.rsplit("_", 1)[1])
        for group in json.loads(path.read_text())["group_by"]:
            code = {"https://openalex.org/countries/CN": "CHN", "https://openalex.org/countries/US": "USA"}.get(group["key"])
            if code:
                rows.append((code, year, float(group["count"])))
    return pl.DataFrame(rows, schema=["country", "year", "value"], orient="row")


def test_a_slowing_take_off_is_not_compounded_at_its_old_pace():
    """US deep-learning works grew 66 -> 7,179 in 2010-2020, but by 78 %, 45 % and 23 % in its last three years: the
    whole history's pace (~60 % a year) compounded over ten years made a 2030 median 65x the 2020 value."""
    from forecasts.batch import slowing_growth

    history = _openalex_dl_works()
    usa = history.filter(pl.col("country") == "USA").sort("year")
    assert usa["year"].to_list() == list(range(2010, 2021)) and usa["value"][-1] == 7179.0
    assert slowing_growth(np.log(usa["value"].to_numpy()))
    # Through 2017 growth was still uneven (78 %, 63 %, 71 %): not a slowdown, the trend is left to the models.
    assert not slowing_growth(np.log(usa["value"].to_numpy()[:8]))
    # On the log scale, as the official run chooses for the US (alone, the pair's own pool picks the level scale).
    result = forecast_pair(history, SeriesSpec("dl_works", bounds=(0.0, None), scale="log"),
                           ForecastConfig(n_paths=300))
    usa_2030 = result.forecasts.filter((pl.col("country") == "USA") & (pl.col("year") == 2030))["mean"][0]
    assert 7179.0 < usa_2030 < 10 * 7179.0
    assert any("growth slowing for 3 years" in note for note in result.warnings)


def test_scale_weights_equal_weighted_or_the_chosen_scale_alone():
    from forecasts.batch import scale_weights

    scores = {0: 0.5, 1: 1.0}  # relative backtest scores of two candidate scales (naive = 1)
    assert scale_weights(scores, 1, DEFAULT) == {1: 0.5, 0: 0.5}
    assert list(scale_weights(scores, 1, DEFAULT)) == [1, 0]  # the chosen scale first
    weighted = scale_weights(scores, 0, ForecastConfig(scale_blend="weighted", scale_power=3.0))
    assert weighted[0] == pytest.approx(8 / 9) and weighted[1] == pytest.approx(1 / 9)
    assert scale_weights(scores, 0, ForecastConfig(scale_blend="none")) == {0: 1.0}
    # A scale without a backtest score does not count; one scale alone is not blended.
    assert scale_weights({0: 0.7}, 0, DEFAULT) == {0: 1.0}


@given(st.floats(-3, 3), st.floats(-3, 3), st.floats(0.05, 0.95))
@settings(max_examples=60, deadline=None)
def test_the_blended_median_is_the_mean_of_the_scales_medians_and_keeps_the_bounds(log_step, level_step, w):
    from forecasts.batch import blended_median
    from forecasts.scales import Bounds, ScaleTransform

    log, level = ScaleTransform("log", Bounds(0.0, None)), ScaleTransform("level", Bounds(0.0, None))
    log_median = np.log(100.0) + log_step * np.arange(1, 7)
    level_median = 100.0 + 60 * level_step * np.arange(1, 7)  # may run below 0: its inverse stops at the bound
    blended, used = blended_median(log, [(log, log_median, w), (level, level_median, 1 - w)])
    expected = w * np.exp(log_median) + (1 - w) * np.maximum(level_median, 0.0)
    assert used == pytest.approx([w, 1 - w])
    assert np.exp(blended) == pytest.approx(expected, rel=1e-9)
    assert np.isfinite(blended).all()
    # On the level scale of a bounded share, a logit median carried over stays inside the bounds.
    share = Bounds(0.0, 100.0)
    lvl, logit = ScaleTransform("level", share), ScaleTransform("logit", share)
    blended, _ = blended_median(lvl, [(lvl, np.full(6, 99.0), w), (logit, np.full(6, 8.0), 1 - w)])
    assert share.contains(blended)


def test_a_scale_whose_median_is_not_finite_is_left_out_of_the_blend():
    from forecasts.batch import blended_median
    from forecasts.scales import Bounds, ScaleTransform

    log, level = ScaleTransform("log", Bounds(0.0, None)), ScaleTransform("level", Bounds(0.0, None))
    chosen = np.log(np.full(3, 50.0))
    blended, used = blended_median(log, [(log, chosen, 0.5), (level, np.array([1.0, np.nan, 3.0]), 0.5)])
    assert used == [1.0, 0.0] and np.allclose(blended, chosen)


def test_the_output_says_how_the_scales_medians_were_blended(papers_forecast):
    for fit in papers_forecast.fits.values():
        weights = fit["scale_weights"]
        assert next(iter(weights)) == fit["scale"] and set(weights) <= {"log", "level"}
        assert sum(weights.values()) == pytest.approx(1, abs=1e-3)


def test_without_blending_the_median_is_the_chosen_scales_own(ai_papers):
    """The blend moves only the median: the chosen scale and model weights are those of the unblended forecast."""
    blended = forecast_pair(ai_papers, PAPERS, DEFAULT)
    alone = forecast_pair(ai_papers, PAPERS, ForecastConfig(n_paths=1000, current_year=2026, scale_blend="none"))
    for country in ("CHN", "USA"):
        assert blended.fits[country]["scale"] == alone.fits[country]["scale"]
        assert blended.fits[country]["weights"] == alone.fits[country]["weights"]
        assert alone.fits[country]["scale_weights"] == {alone.fits[country]["scale"]: 1.0}
    assert not blended.forecasts["mean"].equals(alone.forecasts["mean"])
