"""Rolling-origin backtest scores in, each series' scale, model weights and interval calibration out.

Every candidate is scored on the years after a few earlier cutoffs of its own series, relative to the naive
forecast on the same years (the relative absolute error: below 1 beats carrying the last value forward). The
naive median is the last value on every scale, so relative scores compare scales as well as models. The chosen
forecast's standardised backtest errors, pooled over the run's series by years ahead, calibrate the intervals
(conformal-style), with each series' own errors shrunk toward the pooled factor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri  # the standard normal quantile (scipy.stats' norm.ppf, without importing scipy.stats)

from contracts.intervals import LEVELS

# Standard-normal quantile of each central interval's upper end: z80 ≈ 1.2816, z95 ≈ 1.9600.
Z = {level: float(ndtri(0.5 + level / 200)) for level in LEVELS}
INNER, OUTER = min(LEVELS), max(LEVELS)
# A series' own backtest errors are worth this many pooled ones in its widening factor.
SERIES_PRIOR_FORECASTS = 40
# The pooled factor of a step ahead is shrunk toward 1 (the models' own intervals) with this many forecasts.
POOL_PRIOR_FORECASTS = 20
WIDENING_RANGE = (0.75, 4.0)
# "weighted" selection: weights ∝ 1/score^WEIGHT_POWER. 3 improved on 2 in sMAPE on M1 and Tourism yearly and put
# Tourism's 80 % coverage inside 0.75-0.85; 4 and 5 gained a little more sMAPE and lost M1 interval score
# (docs/benchmark_variants.md, in-sample for the design); the snapshot's as-of backtest was unchanged by 3.
WEIGHT_POWER = 3.0
# Fewer pooled errors than this at a step ahead and that step takes the previous step's factor.
MIN_POOLED_AT_STEP = 10


def origin_cutoffs(n_points: int, n_origins: int, step: int, min_train: int) -> list[int]:
    """Indices of the last training point, `step` years apart, the latest `step` years before the end."""
    cutoffs = [n_points - 1 - step * k for k in range(1, n_origins + 1)]
    return sorted(c for c in cutoffs if c + 1 >= min_train)


def relative_scores(errors: dict[str, np.ndarray], naive_errors: np.ndarray) -> dict[str, float]:
    """Σ|error| / Σ|naive error| per model over the forecasts it made; NaN with no forecast or a perfect naive."""
    out = {}
    for model, err in errors.items():
        mask = np.isfinite(err) & np.isfinite(naive_errors)
        out[model] = relative_score(float(err[mask].sum()), float(naive_errors[mask].sum()), int(mask.sum()))
    return out


def relative_score(error_sum: float, naive_sum: float, n_forecasts: int) -> float:
    """One model's relative score from its sums over the forecasts both it and naive made (`relative_scores`)."""
    return error_sum / naive_sum if n_forecasts > 0 and naive_sum > 0 else float("nan")


def choose_weights(scores: dict[str, float], candidates: tuple[str, ...], selection: str, power: float = WEIGHT_POWER
                   ) -> dict[str, float]:
    """Model weights from relative scores.

    - "comb": the combination when it was scored, else the best;
    - "best": the lowest score (ties to the earlier, simpler candidate);
    - "weighted": weights ∝ 1/score^power over the scored candidates.
    Without any score: the first candidate.
    """
    scored = [m for m in candidates if np.isfinite(scores.get(m, np.nan))]
    if not scored:
        return {candidates[0]: 1.0}
    if selection == "comb" and "comb" in scored:
        return {"comb": 1.0}
    if selection == "weighted":
        raw = np.array([1.0 / max(scores[m], 1e-6) ** power for m in scored])
        return {m: float(w) for m, w in zip(scored, raw / raw.sum())}
    best = min(scored, key=lambda m: (scores[m], candidates.index(m)))
    return {best: 1.0}


def combine(fits: dict[str, tuple[np.ndarray, np.ndarray]], weights: dict[str, float], rows) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean of the models' means and of their sds on `rows`; weights renormalised where a model is missing."""
    means = np.stack([fits[m][0][rows] for m in weights])
    sds = np.stack([fits[m][1][rows] for m in weights])
    w = np.array(list(weights.values()))[:, None, None] * np.isfinite(means)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(total > 0, np.nansum(np.nan_to_num(means) * w, axis=0) / total, np.nan)
        sd = np.where(total > 0, np.nansum(np.nan_to_num(sds) * w, axis=0) / total, np.nan)
    return mean, sd


@dataclass
class Calibration:
    """Interval factors by step ahead: the models' sd is multiplied by `inner` at the 80 % quantile and by
    `outer` at the 95 % quantile (a monotone map in between and beyond, see paths.calibrated_quantile_map)."""

    inner: np.ndarray  # (max_step,)
    outer: np.ndarray
    n_pooled: np.ndarray  # pooled forecasts per step

    def at(self, steps: int, series_factor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Factors for steps 1..`steps` (the last backtested step's factor carries on beyond it: no backtest
        reaches further, and on the log scale a growing factor would compound into ever wider tails)."""
        index = np.minimum(np.arange(steps), self.inner.size - 1)
        lo, hi = WIDENING_RANGE
        return (np.clip(self.inner[index] * series_factor, lo, hi),
                np.clip(self.outer[index] * series_factor, lo, hi))


@dataclass
class RunCalibration:
    """A run's interval calibration: one Calibration per scale and the pool of every scale (for a scale that no
    series of the run could take). An official run stores it; later ad-hoc runs reuse it as their reference, so
    that a subject forecast alone gets the intervals it has in the official run (docs/forecasting.md)."""

    by_scale: dict[str, Calibration]
    default: Calibration

    def for_scale(self, scale: str) -> Calibration:
        return self.by_scale.get(scale, self.default)

    def to_json(self) -> dict:
        def one(c: Calibration) -> dict:
            return {"inner": c.inner.tolist(), "outer": c.outer.tolist(), "n_pooled": c.n_pooled.tolist()}

        return {"default": one(self.default), "by_scale": {k: one(v) for k, v in sorted(self.by_scale.items())}}

    @classmethod
    def from_json(cls, data: dict) -> "RunCalibration":
        """The stored form back; ValueError on anything else (a hand-edited or older run's configuration)."""
        def one(d: dict) -> Calibration:
            inner, outer = np.asarray(d["inner"], dtype=float), np.asarray(d["outer"], dtype=float)
            n = np.asarray(d["n_pooled"], dtype=int)
            if inner.ndim != 1 or inner.size == 0 or inner.shape != outer.shape or n.shape != inner.shape \
                    or not (np.isfinite(inner).all() and np.isfinite(outer).all()):
                raise ValueError("a calibration is three equal-length lists of finite numbers")
            return Calibration(inner, outer, n)

        try:
            return cls({str(k): one(v) for k, v in data["by_scale"].items()}, one(data["default"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored run calibration: {exc}") from None


def pooled_calibration(steps: np.ndarray, standardised: np.ndarray, max_step: int,
                       prior: Calibration | None = None) -> Calibration:
    """Per step ahead, the factors that would have put 80 % and 95 % of the pooled standardised errors inside.

    Each is shrunk toward `prior`'s factor (1, the models' own intervals, without one) with a prior worth
    POOL_PRIOR_FORECASTS forecasts, made non-decreasing in the step
    (a longer horizon is never more certain), and steps with too few errors take the previous step's factor.
    """
    inner, outer, counts = np.ones(max_step), np.ones(max_step), np.zeros(max_step, dtype=int)
    absolute = np.abs(standardised)
    for h in range(1, max_step + 1):
        mine = absolute[(steps == h) & np.isfinite(absolute)]
        counts[h - 1] = mine.size
        if mine.size < MIN_POOLED_AT_STEP:
            if prior is not None:
                inner[h - 1], outer[h - 1] = prior.inner[h - 1], prior.outer[h - 1]
            elif h > 1:
                inner[h - 1], outer[h - 1] = inner[h - 2], outer[h - 2]
            continue
        weight = mine.size / (mine.size + POOL_PRIOR_FORECASTS)
        target_inner = prior.inner[h - 1] if prior is not None else 1.0
        target_outer = prior.outer[h - 1] if prior is not None else 1.0
        inner[h - 1] = weight * np.quantile(mine, INNER / 100) / Z[INNER] + (1 - weight) * target_inner
        outer[h - 1] = weight * np.quantile(mine, OUTER / 100) / Z[OUTER] + (1 - weight) * target_outer
    return Calibration(np.maximum.accumulate(inner), np.maximum.accumulate(outer), counts)


def series_factor(steps: np.ndarray, standardised: np.ndarray, calibration: Calibration, only_widen: bool = True,
                  prior: float = None) -> tuple[float, int]:
    """The series' own correction to the pooled factors, shrunk toward 1: its errors in units of the pooled
    80 % half-width; the factor that would have put 80 % of them inside, worth n of SERIES_PRIOR_FORECASTS."""
    ok = np.isfinite(standardised)
    if not ok.any():
        return 1.0, 0
    index = np.minimum(steps[ok] - 1, calibration.inner.size - 1)
    ratios = np.abs(standardised[ok]) / (calibration.inner[index] * Z[INNER])
    n = int(ok.sum())
    needed = float(np.quantile(ratios, INNER / 100))
    if only_widen:
        # A handful of calm backtest years is too little to narrow a series below the pool; misses are evidence.
        needed = max(needed, 1.0)
    prior = SERIES_PRIOR_FORECASTS if prior is None else prior
    return (n * needed + prior) / (n + prior), n


@dataclass
class SeriesChoice:
    """What the backtest chose for one series, and the evidence: the per-series fit metadata of the output."""

    scale: str
    weights: dict[str, float]
    scores: dict[str, dict[str, float]]  # scale → model → relative absolute error (naive = 1)
    mase: dict[str, float] = field(default_factory=dict)  # chosen scale: model → MASE on the original scale
    n_origins: int = 0
    n_backtest: int = 0  # backtest forecasts behind the scores
    series_factor: float = 1.0
    notes: list[str] = field(default_factory=list)
    scale_weights: dict[str, float] = field(default_factory=dict)  # scale → share of the median (batch.scale_weights)
