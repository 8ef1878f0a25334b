"""Rolling-origin backtest of candidate models on one model-scale series in, scores and a choice out.

Every model is refitted at each origin (cutoff) on the data up to it and scored on the years that
followed, all on the model scale so that scores are comparable across series. Common random
numbers (the same shocks for every model) keep the comparison fair at a few hundred paths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contracts.intervals import QUANTILE_PROBS

from forecasts.models import MIN_POINTS, ModelFitError, fit_model

# Quantile levels of the project-wide 80 % and 95 % intervals plus the median point forecast.
QUANTILES = np.array(QUANTILE_PROBS)
# The smallest training window used as an origin; below it every model is a guess.
MIN_TRAIN = 5


@dataclass(frozen=True)
class ModelScore:
    model: str
    mase: float
    coverage_80: float
    coverage_95: float
    wis: float  # weighted interval score scaled like MASE; the selection criterion
    n_origins: int
    n_forecasts: int


@dataclass(frozen=True)
class BacktestRecord:
    model: str
    cutoff: int  # index of the last training point
    step: int  # years ahead
    actual: float
    quantiles: tuple[float, float, float, float, float]  # model scale, levels as QUANTILES


def origin_cutoffs(n_points: int, n_origins: int, min_train: int) -> list[int]:
    """Indices of the last training point for the last `n_origins` origins with ≥ min_train points."""
    first = max(min_train, 1) - 1
    cutoffs = list(range(first, n_points - 1))
    return cutoffs[-n_origins:] if n_origins > 0 else []


def interval_score(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float) -> np.ndarray:
    """Gneiting–Raftery interval score of central (1 − alpha) intervals: width plus 2/alpha × miss."""
    below = np.clip(lower - actual, 0.0, None)
    above = np.clip(actual - upper, 0.0, None)
    return (upper - lower) + 2.0 / alpha * (below + above)


def weighted_interval_score(actual: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """WIS (Bracher et al. 2021) from the median and the 80 % and 95 % intervals.

    A proper score: it rewards calibration and sharpness together and penalises misses by their
    distance, so an over-confident model cannot win on point accuracy alone (as it could on MASE).
    """
    median = quantiles[:, 2]
    score = 0.5 * np.abs(actual - median)
    score = score + 0.2 / 2 * interval_score(actual, quantiles[:, 1], quantiles[:, 3], 0.2)
    score = score + 0.05 / 2 * interval_score(actual, quantiles[:, 0], quantiles[:, 4], 0.05)
    return score / 2.5


def naive_scale(train: np.ndarray) -> float:
    """MASE denominator: mean absolute one-year change in the training window."""
    changes = np.abs(np.diff(train))
    scale = float(changes.mean()) if changes.size else float("nan")
    return scale if scale > 0 else float("nan")


def rolling_origin(
    y: np.ndarray,
    observed: np.ndarray,
    models: tuple[str, ...],
    *,
    n_origins: int,
    max_step: int,
    n_paths: int,
    rng: np.random.Generator,
    min_train: int = MIN_TRAIN,
) -> tuple[list[BacktestRecord], list[ModelScore], list[str]]:
    """Backtest each model on a gap-filled series; score only years that were really observed.

    Origins are shared by all models (fitted only where every candidate can be), so that scores
    compare like with like. Returns the per-forecast records, one score per model that produced
    forecasts, and warnings about models that failed to fit.
    """
    min_train = max(min_train, max(MIN_POINTS[m] for m in models))
    cutoffs = origin_cutoffs(y.size, n_origins, min_train)
    records: list[BacktestRecord] = []
    failures: dict[str, int] = {}
    shocks = rng.standard_normal((n_paths, max(max_step, 1)))
    for cutoff in cutoffs:
        train = y[: cutoff + 1]
        steps = min(max_step, y.size - 1 - cutoff)
        model_rng_seed = rng.integers(2**63)
        for name in models:
            try:
                fitted = fit_model(name, train)
            except ModelFitError:
                failures[name] = failures.get(name, 0) + 1
                continue
            paths = fitted.simulate(shocks[:, :steps], np.random.default_rng(model_rng_seed))
            qs = np.quantile(paths, QUANTILES, axis=0).T
            for step in range(1, steps + 1):
                index = cutoff + step
                if not observed[index]:
                    continue
                records.append(
                    BacktestRecord(name, cutoff, step, float(y[index]), tuple(float(q) for q in qs[step - 1]))
                )
    scores = score_records(records, y, cutoffs, models)
    warnings = [
        f"{name} failed to fit at {count} of {len(cutoffs)} backtest origins"
        for name, count in sorted(failures.items())
    ]
    return records, scores, warnings


def score_records(
    records: list[BacktestRecord], y: np.ndarray, cutoffs: list[int], models: tuple[str, ...]
) -> list[ModelScore]:
    scales = {cutoff: naive_scale(y[: cutoff + 1]) for cutoff in cutoffs}
    scores = []
    for name in models:
        mine = [r for r in records if r.model == name]
        if not mine:
            continue
        actual = np.array([r.actual for r in mine])
        qs = np.array([r.quantiles for r in mine])
        scale = np.array([scales[r.cutoff] for r in mine])
        mase = np.nanmean(np.abs(actual - qs[:, 2]) / scale) if np.isfinite(scale).any() else np.nan
        wis = (
            np.nanmean(weighted_interval_score(actual, qs) / scale)
            if np.isfinite(scale).any()
            else np.nan
        )
        scores.append(
            ModelScore(
                model=name,
                mase=float(mase),
                coverage_80=float(np.mean((actual >= qs[:, 1]) & (actual <= qs[:, 3]))),
                coverage_95=float(np.mean((actual >= qs[:, 0]) & (actual <= qs[:, 4]))),
                wis=float(wis),
                n_origins=len({r.cutoff for r in mine}),
                n_forecasts=len(mine),
            )
        )
    return scores


def choose_models(
    scores: list[ModelScore], candidates: tuple[str, ...], selection: str
) -> dict[str, float]:
    """Model weights from backtest scores: the best WIS (ties go to the earlier, simpler model), or
    inverse-WIS weights when selection == "weighted". Without scores, the first candidate."""
    usable = [s for s in scores if np.isfinite(s.wis) and s.model in candidates]
    if not usable:
        return {candidates[0]: 1.0}
    if selection == "weighted":
        inverse = np.array([1.0 / max(s.wis, 1e-12) for s in usable])
        inverse = inverse / inverse.sum()
        return {s.model: float(w) for s, w in zip(usable, inverse)}
    order = {name: i for i, name in enumerate(candidates)}
    best = min(usable, key=lambda s: (s.wis, order[s.model]))
    return {best.model: 1.0}



# Backtest errors' worth in the interval inflation: a prior of this many calibrated forecasts.
INFLATION_PRIOR_FORECASTS = 10
MAX_INFLATION = 3.0


def interval_inflation(records: list[BacktestRecord], weights: dict[str, float]) -> tuple[float, int]:
    """Factor (≥ 1) by which the chosen models' spread must grow for their 80 % backtest intervals to cover.

    Each backtest error of a chosen model is expressed in units of that forecast's own 80 %
    half-width; the factor that would have put 80 % of them inside is the (model-weighted) 80th
    percentile of those ratios. It is shrunk toward 1 with a prior worth INFLATION_PRIOR_FORECASTS
    calibrated forecasts (n = distinct origin-year forecasts, not model × forecast records) and
    capped at MAX_INFLATION. The 80 % level, not the 95 %, sets it: on 10–30 forecasts a 95th
    percentile is one outlier. Intervals are only ever widened: a backtest on a handful of origins
    is evidence of over-confidence when it misses, but too thin to justify narrowing.
    Returns (factor, number of distinct backtest forecasts used).
    """
    ratios, masses, forecasts = [], [], set()
    for record in records:
        weight = weights.get(record.model, 0.0)
        if weight <= 0:
            continue
        q = record.quantiles
        error = abs(record.actual - q[2])
        half_width = (q[3] - q[1]) / 2
        ratios.append(error / half_width if half_width > 0 else (0.0 if error == 0 else np.inf))
        masses.append(weight)
        forecasts.add((record.cutoff, record.step))
    n = len(forecasts)
    if n == 0:
        return 1.0, 0
    order = np.argsort(ratios)
    mass = np.asarray(masses)[order]
    cumulative = np.cumsum(mass) / mass.sum()
    needed = float(np.asarray(ratios)[order][np.searchsorted(cumulative, 0.80 - 1e-12)])
    needed = min(max(needed, 1.0), MAX_INFLATION)
    # The forecasts of one series share origins and overlap; the shrinkage keeps a few misses
    # from tripling an interval on their own.
    factor = (n * needed + INFLATION_PRIOR_FORECASTS) / (n + INFLATION_PRIOR_FORECASTS)
    return float(factor), n
