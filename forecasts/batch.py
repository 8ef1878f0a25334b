"""One run's series in (each on its candidate scales), each series' chosen fit out: scale, weights, calibrated
model-scale forecast to the needed horizon.

One statsforecast batch per run, of two fits that overlap on the executor's workers: (1) every series' rolling-origin
backtest windows on every candidate scale, (2) every series' full history on every candidate scale with every
candidate model. The pooled calibration needs every series' backtest, which is why a run is fitted as one batch
rather than series by series; the backtest then chooses each series' scale, weights and blend among the fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from forecasts.engine import FitRequest, candidates_for, fit_many
from forecasts.executors import Executor, InProcess
from forecasts.models import rw_drift
from forecasts.registry import SHORT_SERIES_MODELS
from forecasts.scales import ScaleTransform
from forecasts.selection import (
    OUTER,
    Z,
    Calibration,
    RunCalibration,
    SeriesChoice,
    choose_weights,
    combine,
    origin_cutoffs,
    pooled_calibration,
    relative_score,
    relative_scores,
    series_factor,
)

# A log-scale series whose growth slowed in each of its last this many years is damped from the first year.
SLOWING_YEARS = 3
# Windows shorter than this are not backtest origins (a random walk with drift needs two changes).
MIN_ORIGIN_TRAIN = 3


@dataclass
class PreparedSeries:
    """One country's series on a gap-free annual grid, with its candidate scales (preferred first)."""

    years: np.ndarray
    values: np.ndarray  # original scale; interior gaps filled on the first candidate scale
    observed: np.ndarray  # False where a year was filled
    transforms: list[ScaleTransform]
    preferred: bool = False  # the first transform is the catalog's (or importer's) scale: it keeps a margin

    def model_values(self, index: int) -> np.ndarray:
        return self.transforms[index].forward(self.values)


@dataclass
class SeriesFit:
    choice: SeriesChoice
    transform: ScaleTransform
    mean: np.ndarray  # model scale, steps 1..H, after the growth guard
    sd: np.ndarray
    inner: np.ndarray  # interval factors per step (80 % and 95 % quantiles)
    outer: np.ndarray
    residuals: np.ndarray  # one-year changes less their mean, aligned with years[1:], chosen scale


@dataclass
class _Window:
    series: int
    transform: int
    cutoff: int


def _backtest_windows(series: list[PreparedSeries], config) -> tuple[list[np.ndarray], list[_Window]]:
    windows, meta = [], []
    for i, s in enumerate(series):
        for t in range(len(s.transforms)):
            values = s.model_values(t)
            for cutoff in origin_cutoffs(s.years.size, config.backtest_origins, config.origin_step, MIN_ORIGIN_TRAIN):
                windows.append(values[: cutoff + 1])
                meta.append(_Window(i, t, cutoff))
    return windows, meta


def _candidates(s: PreparedSeries, config) -> tuple[tuple[str, ...], list[str]]:
    n = int(s.observed.sum())
    if n < config.min_points_full:
        allowed = tuple(m for m in config.models if m in SHORT_SERIES_MODELS) or SHORT_SERIES_MODELS
        return allowed, [f"short series ({n} points < {config.min_points_full}): only {', '.join(allowed)}"]
    return candidates_for(config.models, n) or SHORT_SERIES_MODELS, []


def growth_guard(last: float, mean: np.ndarray, history: np.ndarray, *, damp_after: int, damping: float
                 ) -> tuple[np.ndarray, float | None]:
    """The median's path, held to what the series' own history justifies (docs/forecasting.md, "Plausible
    long horizons"):

    1. each year's change of the median stays within |d̄| + 2·se(d̄), with d̄ the mean one-year change of the
       whole history on the model scale (a model may extrapolate a recent spurt no faster than that);
    2. beyond `damp_after` years (the backtested horizon, where no evidence reaches) each year's change is
       damped by `damping` per year, so the median settles instead of compounding for ever;
    3. over h years the median moves no further than the history ever moved over h years.
    Returns the guarded mean and the cap when step 1 bit (None otherwise).
    """
    changes = np.diff(history)
    steps = np.diff(np.concatenate([[last], mean]))
    cap = None
    if changes.size >= 2:
        limit = abs(float(changes.mean())) + 2 * float(changes.std(ddof=1)) / np.sqrt(changes.size)
        if np.any(np.abs(steps) > limit + 1e-12):
            steps, cap = np.clip(steps, -limit, limit), limit
    ahead = np.arange(1, steps.size + 1)
    steps = steps * damping ** np.maximum(ahead - damp_after, 0)
    guarded = last + np.cumsum(steps)
    # 3. over h years the median moves no further than the history ever moved over h years (beyond the
    #    history's length: no further than the whole history moved).
    reach = window_reach(history, steps.size)
    if changes.size >= 2:
        guarded = np.clip(guarded, last - reach, last + reach)
    return guarded, cap


def slowing_growth(history: np.ndarray, k: int = SLOWING_YEARS) -> bool:
    """True when a growing series' last `k` one-year changes each fell below the one before and average less than
    the `k` before them: a take-off that is slowing down, whose models (each fitted to the whole history's pace)
    would extrapolate the pace it is leaving."""
    changes = np.diff(history)
    if changes.size < 2 * k:
        return False
    last, before = changes[-k:], changes[-2 * k:-k]
    return bool(before.mean() > 0 and last.mean() < before.mean() and np.all(np.diff(last) < 0))


def window_reach(history: np.ndarray, horizon: int) -> np.ndarray:
    """For h = 1..horizon, the largest |change| of the history over any h consecutive years (capped at its span)."""
    n = history.size
    reach = np.empty(horizon)
    for h in range(1, horizon + 1):
        span = min(h, n - 1)
        reach[h - 1] = np.max(np.abs(history[span:] - history[:-span])) if span > 0 else 0.0
    return np.maximum.accumulate(reach)


@dataclass
class _Evaluation:
    """One series on one candidate scale: the chosen weights and their combined backtest forecast."""

    weights: dict[str, float]
    model_scores: dict[str, float]
    mean: np.ndarray  # (windows, steps) model scale
    sd: np.ndarray
    actual: np.ndarray  # original scale, NaN where not observed
    standardised: np.ndarray  # (actual − mean)/sd on the model scale
    steps: np.ndarray
    naive_error: np.ndarray
    mase: dict[str, float]
    train: np.ndarray  # (windows, 1) training points of each backtest window


def _evaluate(s: PreparedSeries, rows_by_t, fits, windows_meta, candidates, config) -> dict[int, _Evaluation]:
    """Per candidate scale: relative scores of each model (naive = 1), the weights, the combined forecast."""
    out = {}
    for t, rows in rows_by_t.items():
        transform = s.transforms[t]
        actual, actual_model, mase_scale, steps = _actuals(s, t, [windows_meta[r].cutoff for r in rows], config)
        errors = {m: np.abs(actual - transform.inverse(fits[m][0][rows])) for m in (*candidates, "naive")}
        model_scores = relative_scores({m: errors[m] for m in candidates}, errors["naive"])
        weights = choose_weights(model_scores, candidates, config.selection, config.weight_power)
        mean, sd = combine(fits, weights, rows)
        if config.cross_fit and len(rows) > 1:
            mean, sd = _cross_fitted(fits, rows, errors, candidates, config)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = {m: errors[m] / mase_scale for m in candidates}
        mase = {m: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for m, v in scaled.items()}
        with np.errstate(divide="ignore", invalid="ignore"):
            # A window that never changed has sd 0: its errors say nothing about a spread, and are left out.
            standardised = np.where(sd > 0, (actual_model - mean) / sd, np.nan)
        train = np.array([[windows_meta[r].cutoff + 1] for r in rows])
        out[t] = _Evaluation(weights, model_scores, mean, sd, actual, standardised, steps, errors["naive"], mase,
                             train)
    return out


def _cross_fitted(fits, rows, errors, candidates, config) -> tuple[np.ndarray, np.ndarray]:
    """Each origin's combined forecast with the weights the *other* origins would have chosen.

    Its errors calibrate the intervals and score the scale: the errors of weights chosen on the same origins
    are too small (the selection has seen them), which would make the intervals too narrow out of sample.
    The leave-one-origin-out scores are `relative_scores` over the other origins, from per-origin sums.
    """
    naive = errors["naive"]
    scores_by_origin: list[dict[str, float]] = [{} for _ in rows]
    for m in candidates:
        mask = np.isfinite(errors[m]) & np.isfinite(naive)
        numerator = np.where(mask, errors[m], 0.0).sum(axis=1)
        denominator = np.where(mask, naive, 0.0).sum(axis=1)
        count = mask.sum(axis=1)
        for k in range(len(rows)):
            scores_by_origin[k][m] = relative_score(float(numerator.sum() - numerator[k]),
                                                    float(denominator.sum() - denominator[k]),
                                                    int(count.sum() - count[k]))
    weights = [choose_weights(scores, candidates, config.selection, config.weight_power) for scores in scores_by_origin]
    models = list(dict.fromkeys(m for w in weights for m in w))
    matrix = np.array([[w.get(m, 0.0) for m in models] for w in weights])  # (origins, models)
    means = np.stack([fits[m][0][rows] for m in models])  # (models, origins, steps)
    sds = np.stack([fits[m][1][rows] for m in models])
    w = matrix.T[:, :, None] * np.isfinite(means)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(total > 0, (np.nan_to_num(means) * w).sum(axis=0) / total, np.nan)
        sd = np.where(total > 0, (np.nan_to_num(sds) * w).sum(axis=0) / total, np.nan)
    return mean, sd


def _choose_scale(s: PreparedSeries, evaluations: dict[int, _Evaluation], calibrations, config
                  ) -> tuple[int, dict[int, float]]:
    """The scale whose calibrated backtest forecast scores best, and every candidate scale's score: the mean of its
    relative absolute error and its relative 95 % interval score (both over naive's absolute error on the same
    years, so that scales compare). A scale whose calibrated intervals explode loses even if its median is close.
    The preferred scale (listed first) keeps the choice unless another beats it by `scale_margin` (when the spec
    named a preferred scale)."""
    combined = {}
    for t, e in evaluations.items():
        transform = s.transforms[t]
        point = relative_scores({"x": np.abs(e.actual - transform.inverse(e.mean))}, e.naive_error)["x"]
        if config.scale_by == "point_and_interval":
            _, outer = calibrations[transform.scale].at(e.steps.shape[1] if e.steps.size else 1)
            interval = _interval_score(e.actual, transform, e.mean, e.sd * outer[None, : e.mean.shape[1]])
            point = (point + relative_scores({"x": interval}, e.naive_error)["x"]) / 2
        combined[t] = point
    finite = {t: v for t, v in combined.items() if np.isfinite(v)}
    if not finite:
        return 0, finite
    margin = config.scale_margin if s.preferred else 0.0
    return min(finite, key=lambda t: (finite[t] * (1.0 if t == 0 else 1.0 + margin), t)), finite


def scale_weights(scores: dict[int, float], chosen: int, config) -> dict[int, float]:
    """How much each candidate scale's median counts in the forecast's median (the chosen scale first).

    Which scale wins a handful of backtest years is weak evidence: on M1 and Tourism yearly the scale each series
    chose was, out of sample, the better one for barely half of them (docs/forecasting.md, "Scale"). So the scales'
    medians are combined as forecasts are, while the chosen scale keeps the paths and intervals:
    "equal" (the default): every scale with a backtest score counts the same; "weighted": ∝ 1/score^scale_power;
    "none": the chosen scale's median alone.
    """
    others = [t for t in scores if t != chosen]
    if config.scale_blend == "none" or chosen not in scores or not others:
        return {chosen: 1.0}
    order = [chosen, *others]
    power = 0.0 if config.scale_blend == "equal" else config.scale_power
    raw = np.array([1.0 / max(scores[t], 1e-6) ** power for t in order])
    return {t: float(w) for t, w in zip(order, raw / raw.sum())}


def blended_median(chosen: ScaleTransform, medians: list[tuple[ScaleTransform, np.ndarray, float]]
                   ) -> tuple[np.ndarray, list[float]]:
    """The weighted mean of the scales' medians on the original scale, carried to the chosen scale (a monotone map,
    so the median of the chosen scale's paths around it is the blend), and the weights it used.

    Each median lies inside the series' bounds, so their mean does too. A scale whose median is not finite is
    left out (the weights renormalised); when the blend cannot be carried to the chosen scale (a log series whose
    medians all sit on its floor) the chosen scale's own median (listed first, and finite) is kept.
    """
    total, used = 0.0, []
    for transform, mean, w in medians:
        ok = bool(np.isfinite(mean).all())
        total = total + (w * transform.inverse(mean) if ok else 0.0)
        used.append(w if ok else 0.0)
    weight = sum(used)
    blended = chosen.forward(total / weight)
    if not np.isfinite(blended).all():
        return medians[0][1], [1.0] + [0.0] * (len(medians) - 1)
    return blended, [w / weight for w in used]


def _interval_score(actual, transform, mean, sd) -> np.ndarray:
    """Gneiting–Raftery interval score of the models' own central 95 % interval, on the original scale."""
    z = Z[OUTER]
    lower, upper = transform.inverse_around(mean - z * sd, mean), transform.inverse_around(mean + z * sd, mean)
    alpha = 1 - OUTER / 100
    return (upper - lower) + 2 / alpha * (np.clip(lower - actual, 0, None) + np.clip(actual - upper, 0, None))


def _actuals(s: PreparedSeries, t: int, cutoffs: list[int], config):
    """Observed later values (original and model scale), the MASE denominators and the steps ahead per window."""
    h = config.backtest_horizon
    model_values = s.model_values(t)
    actual = np.full((len(cutoffs), h), np.nan)
    actual_model = np.full((len(cutoffs), h), np.nan)
    scale = np.full((len(cutoffs), 1), np.nan)
    for row, cutoff in enumerate(cutoffs):
        later = np.arange(cutoff + 1, min(cutoff + 1 + h, s.years.size))
        keep = later[s.observed[later]]
        actual[row, keep - cutoff - 1] = s.values[keep]
        actual_model[row, keep - cutoff - 1] = model_values[keep]
        changes = np.abs(np.diff(s.values[: cutoff + 1]))
        scale[row, 0] = changes.mean() if changes.size and changes.mean() > 0 else np.nan
    steps = np.tile(np.arange(1, h + 1), (len(cutoffs), 1))
    return actual, actual_model, scale, steps


def calibration_errors(e: _Evaluation, min_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps ahead and standardised errors of the backtest windows that calibrate intervals: those trained on at
    least `min_train` points (ForecastConfig.min_calibration_train; every window scores the models)."""
    usable = np.broadcast_to(e.train >= min_train, e.steps.shape)
    return e.steps[usable], e.standardised[usable]


def _pool(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    steps = np.concatenate([st for st, _ in pairs] or [np.array([], dtype=int)])
    errors = np.concatenate([er for _, er in pairs] or [np.array([])])
    return steps, errors


def calibrate_and_choose(series: list[PreparedSeries], evaluations: list[dict[int, _Evaluation]], config,
                         reference: RunCalibration | None = None
                         ) -> tuple[RunCalibration, list[tuple[int, dict[int, float]]]]:
    """Each series' scale and each scale's interval calibration.

    With a `reference` (a stored official run's calibration), the run's own errors are not pooled: every series
    is calibrated and its scale chosen against the reference, so that its forecast does not depend on which
    other subjects share the run.

    The default pool (config.calibration_pool = "every_scale"): each scale's calibration pools the backtest
    errors of every series on that scale, whichever scale the series then takes, shrunk toward the pool of
    every scale (itself shrunk toward the models' own intervals), so that a scale few series take borrows
    strength from the others; the scales are chosen with these calibrations.
    "chosen_scale" (weighed in docs/benchmark_variants.md, not adopted): the scale is chosen on the pool of every
    scale, then each scale is calibrated on the series that chose it.
    Returns the run's calibration and, per series, its scale's index and every candidate scale's score.
    """
    if reference is not None:
        by_reference = {s.transforms[t].scale: reference.for_scale(s.transforms[t].scale)
                        for s, ev in zip(series, evaluations) for t in ev}
        return reference, _choices(series, evaluations, by_reference, config)

    def errors(e):
        return calibration_errors(e, config.min_calibration_train)

    default = pooled_calibration(*_pool([errors(e) for ev in evaluations for e in ev.values()]),
                                 config.backtest_horizon)
    by_scale: dict[str, list] = {}
    if config.calibration_pool == "every_scale":
        for s, ev in zip(series, evaluations):
            for t, e in ev.items():
                by_scale.setdefault(s.transforms[t].scale, []).append(errors(e))
        calibrations = {scale: pooled_calibration(*_pool(pairs), config.backtest_horizon, prior=default)
                        for scale, pairs in by_scale.items()}
        return RunCalibration(calibrations, default), _choices(series, evaluations, calibrations, config)
    yardstick = {s.transforms[t].scale: default for s, ev in zip(series, evaluations) for t in ev}
    choices = _choices(series, evaluations, yardstick, config)
    for s, ev, (t, _) in zip(series, evaluations, choices):
        if t in ev:
            by_scale.setdefault(s.transforms[t].scale, []).append(errors(ev[t]))
    calibrations = {scale: pooled_calibration(*_pool(pairs), config.backtest_horizon, prior=default)
                    for scale, pairs in by_scale.items()}
    return RunCalibration(calibrations, default), choices


def _choices(series, evaluations, calibrations, config) -> list[tuple[int, dict[int, float]]]:
    return [_choose_scale(s, ev, calibrations, config) if ev else (0, {}) for s, ev in zip(series, evaluations)]


def fit_series(series: list[PreparedSeries], steps_needed: list[int], config,
               reference: RunCalibration | None = None, executor: Executor = InProcess()
               ) -> tuple[list[SeriesFit], RunCalibration]:
    """Backtest, choose, calibrate and fit every series of the run; `steps_needed[i]` years ahead for series i
    (calibrated against `reference` when given, see calibrate_and_choose). Each of the two fits (every backtest
    window, then every final history) runs its statsforecast calls on `executor`; the calibration between them
    runs here, over every series."""
    candidates, notes = zip(*[_candidates(s, config) for s in series]) if series else ((), ())
    windows, meta = _backtest_windows(series, config)
    every = tuple(dict.fromkeys(m for c in candidates for m in c))
    chains = None
    if not config.refit_origins:
        by_series: dict[tuple[int, int], list[int]] = {}
        for r, w in enumerate(meta):
            by_series.setdefault((w.series, w.transform), []).append(r)
        chains = list(by_series.values())
    horizon = max(steps_needed, default=1)
    # The final fits do not depend on the backtest's choices: every series' full history on each of its candidate
    # scales, with every candidate model (the blend uses every scale's median, the weights every candidate). So
    # both fits go to the executor together (engine.fit_many) and overlap on its workers.
    final_keys = [(i, t) for i, s in enumerate(series) for t in range(len(s.transforms))]
    final_row = {key: r for r, key in enumerate(final_keys)}
    backtest = FitRequest(windows, (*every, "naive"), config.backtest_horizon, config.workers, config.seed,
                          config.spread, chains, config.origin_step)
    full = FitRequest([series[i].model_values(t) for i, t in final_keys], every, horizon, config.workers, config.seed,
                      config.spread)
    fitted = fit_many([backtest, full], executor)
    fits = next(fitted)  # the workers go on with the final fits meanwhile
    rows: dict[int, dict[int, list[int]]] = {}
    for r, w in enumerate(meta):
        rows.setdefault(w.series, {}).setdefault(w.transform, []).append(r)
    evaluations = [_evaluate(s, rows.get(i, {}), fits, meta, candidates[i], config) for i, s in enumerate(series)]
    run_calibration, choices = calibrate_and_choose(series, evaluations, config, reference)
    final = next(fitted)
    chosen_t = [t for t, _ in choices]
    blends = [scale_weights(scores, t, config) for t, scores in choices]

    weights_of = {(i, t): ev[t].weights if ev else {candidates[i][0]: 1.0}
                  for i, (ev, blend) in enumerate(zip(evaluations, blends)) for t in blend}
    chosen_rows = [final_row[i, t] for i, t in enumerate(chosen_t)]
    fallback = rw_drift([full.windows[r] for r in chosen_rows], horizon)
    out = []
    for i, (s, t) in enumerate(zip(series, chosen_t)):
        e = evaluations[i].get(t)
        weights = weights_of[i, t]
        calibration = run_calibration.for_scale(s.transforms[t].scale)
        factor = series_factor(*calibration_errors(e, config.min_calibration_train), calibration, config.only_widen,
                               config.series_prior)[0] if e else 1.0
        mean, sd = combine(final, weights, [chosen_rows[i]])
        mean, sd = mean[0], sd[0]
        series_notes = list(notes[i])
        blend = blends[i]
        if not np.isfinite(mean).all():
            series_notes.append(f"{'+'.join(weights)} could not be fitted to the full series; rw_drift used")
            weights, mean, sd = {"rw_drift": 1.0}, fallback[0][i], fallback[1][i]
            blend = {t: 1.0}
        elif len(blend) > 1:
            medians = [(s.transforms[k], combine(final, weights_of[i, k], [final_row[i, k]])[0][0], w)
                       for k, w in blend.items()]
            mean, used = blended_median(s.transforms[t], medians)
            blend = dict(zip(blend, used))
        history = full.windows[chosen_rows[i]]
        # A short series' trend rests on a few backtest forecasts of at most a few years, and a log-scale take-off
        # that is slowing would compound the pace it is leaving: both are damped from the first forecast year
        # instead of after the backtested horizon.
        short = int(s.observed.sum()) < config.min_points_full
        slowing = s.transforms[t].scale == "log" and slowing_growth(history)
        damp_after = 0 if (short or slowing) else config.backtest_horizon
        guarded, cap = (mean, None) if not config.growth_guard else growth_guard(
            float(history[-1]), mean, history, damp_after=damp_after, damping=config.long_run_damping)
        if (short or slowing) and config.growth_guard:
            why = "short series" if short else f"growth slowing for {SLOWING_YEARS} years"
            series_notes.append(f"{why}: the median's trend damped by {config.long_run_damping:g} a year from the "
                                "first forecast year")
        if cap is not None:
            series_notes.append(f"growth guard: the median's yearly change held within ±{cap:.3g} on the "
                                f"{s.transforms[t].scale} scale (the history's mean change + 2 se)")
        inner, outer = calibration.at(horizon, factor)
        changes = np.diff(history)
        residuals = changes - changes.mean() if changes.size else changes
        scores = {s.transforms[k].scale: ev.model_scores for k, ev in evaluations[i].items()}
        choice = SeriesChoice(scale=s.transforms[t].scale, weights=weights, scores=scores, mase=e.mase if e else {},
                              n_origins=len(rows.get(i, {}).get(t, [])),
                              n_backtest=int(np.isfinite(e.standardised).sum()) if e else 0,
                              series_factor=factor, notes=series_notes,
                              scale_weights={s.transforms[k].scale: w for k, w in blend.items()})
        out.append(SeriesFit(choice, s.transforms[t], guarded, sd, inner, outer, residuals))
    return out, run_calibration
