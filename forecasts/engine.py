"""The batch fitting engine: many model-scale training windows in, each candidate's point forecast and spread out.

The windows of a fit (each series' final history, or its rolling backtest origins on each candidate scale) are
`unique_id`s of long `unique_id, ds, y` frames that statsforecast fits with `n_jobs` processes: a series' backtest
origins (a chain) are one series of statsforecast's `cross_validation(refit=False)` — fitted once at the earliest
origin long enough for the model, carried forward to the later ones — and other windows one `forecast` batch. The
closed-form models run over the same windows in numpy. Windows are grouped so that a model is only asked to fit
windows long enough for it (statsforecast stops the whole batch on one failure).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from contracts.intervals import LEVELS
from forecasts import models as closed
from forecasts.executors import Executor, InProcess, split
from forecasts.registry import REGISTRY, expand, spec, usable
from forecasts.selection import Z

# The predictive sd is read off the narrower interval: every model here has normal predictive marginals.
_SD_LEVEL = min(LEVELS)
_Z_SD_LEVEL = Z[_SD_LEVEL]
# Fewer series than this in one statsforecast call: fitted in this process, without a pool of workers.
MIN_PARALLEL_SERIES = 64


def warm_up() -> None:
    """Load statsforecast and the models' compiled code in this process (a worker pool's initializer): the first
    fit of a process otherwise waits about 1.5 s for the import."""
    windows = [np.arange(1.0, 9.0)]
    fit_windows(windows, tuple(a for a in REGISTRY if spec(a).engine == "statsforecast"), 2)


def _statsforecast_task(task: tuple) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """One partition of a fit (an executor's unit of work): `_statsforecast_group`'s arguments as one tuple, or
    `_statsforecast_chains`' after the tag "chains"."""
    if task[0] == "chains":
        return _statsforecast_chains(*task[1:])
    return _statsforecast_group(*task)


def _fitter(aliases: tuple[str, ...], n_jobs: int):
    from statsforecast import StatsForecast

    from forecasts.sfmodels import CopyingNaive as Naive

    return StatsForecast(models=[spec(a).factory() for a in aliases], freq=1, n_jobs=n_jobs, fallback_model=Naive())


def _read_intervals(out, aliases: tuple[str, ...], rows: int, horizon: int, intervals: bool) -> dict:
    result = {}
    for alias in aliases:
        mean = out[alias].to_numpy(dtype=float).reshape(rows, horizon)
        sd = np.full_like(mean, np.nan)
        if intervals:
            lo = out[f"{alias}-lo-{_SD_LEVEL}"].to_numpy(dtype=float).reshape(rows, horizon)
            hi = out[f"{alias}-hi-{_SD_LEVEL}"].to_numpy(dtype=float).reshape(rows, horizon)
            sd = (hi - lo) / (2 * _Z_SD_LEVEL)
        result[alias] = (mean, sd)
    return result


def _long_frame(series: list[np.ndarray]):
    """statsforecast's long `unique_id, ds, y` frame: series i is unique_id i, its points ds = 0, 1, …"""
    import pandas as pd

    lengths = np.array([y.size for y in series])
    return pd.DataFrame({
        "unique_id": np.repeat(np.arange(len(series)), lengths),
        "ds": np.concatenate([np.arange(n) for n in lengths]),
        "y": np.concatenate(series),
    })


def _statsforecast_chains(chains: list[list[np.ndarray]], aliases: tuple[str, ...], horizon: int, n_jobs: int,
                          intervals: bool, step: int):
    """Rolling origins without refitting: each chain (k training windows of one series, each `step` points longer
    than the one before) is one series of statsforecast's `cross_validation(refit=False)`, which fits every model
    on the chain's first window and applies the fitted parameters (`forward`) at the later origins. The series
    handed over is the chain's last window followed by `horizon` NaN (the years after it, which no model reads), so
    that the k cross-validation cutoffs fall on the chain's windows. Returns (mean, sd) of shape (Σk, horizon), the
    chains' windows in order."""
    k = len(chains[0])
    frame = _long_frame([np.concatenate([chain[-1], np.full(horizon, np.nan)]) for chain in chains])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = _fitter(aliases, n_jobs).cross_validation(
            df=frame, h=horizon, step_size=step, test_size=horizon + step * (k - 1), refit=False,
            **({"level": [_SD_LEVEL]} if intervals else {}))
    out = out.sort_values(["unique_id", "cutoff", "ds"])
    return _read_intervals(out, aliases, len(chains) * k, horizon, intervals)


def _statsforecast_group(windows: list[np.ndarray], aliases: tuple[str, ...], horizon: int, n_jobs: int,
                         intervals: bool = True):
    frame = _long_frame(windows)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # Short annual windows trip statsforecast's divide-by-zero warnings on degenerate candidates; the
        # backtest score is where such a fit is judged.
        warnings.simplefilter("ignore")
        out = _fitter(aliases, n_jobs).forecast(df=frame, h=horizon, **({"level": [_SD_LEVEL]} if intervals else {}))
    out = out.sort_values(["unique_id", "ds"])
    return _read_intervals(out, aliases, len(windows), horizon, intervals)


def _jobs(executor: Executor, n_jobs: int, n_series: int) -> int:
    """statsforecast's `n_jobs` for one call: a call of fewer than MIN_PARALLEL_SERIES series runs in this process
    (starting and ending a pool of worker processes costs more than fitting them; the result is the same)."""
    return 1 if n_series < MIN_PARALLEL_SERIES else executor.jobs_per_partition(n_jobs)


@dataclass
class FitRequest:
    """One fit of `fit_many`: `fit_windows`' arguments but the executor."""

    windows: list[np.ndarray]
    models: tuple[str, ...]
    horizon: int
    n_jobs: int = 1
    seed: int = 0
    spread: str = "model"
    chains: list[list[int]] | None = None
    step: int = 1


@dataclass
class _Plan:
    request: FitRequest
    aliases: tuple[str, ...]
    lengths: np.ndarray
    borrowed: set[str]
    result: dict[str, tuple[np.ndarray, np.ndarray]]
    tasks: list[tuple] = field(default_factory=list)
    targets: list[list[int]] = field(default_factory=list)


def fit_windows(
    windows: list[np.ndarray], models: tuple[str, ...], horizon: int, *, n_jobs: int = 1, seed: int = 0,
    spread: str = "model", executor: Executor = InProcess(), chains: list[list[int]] | None = None, step: int = 1,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per model alias, (mean, sd) arrays of shape (len(windows), horizon); NaN rows where not fitted.

    `chains` (rolling origins of one series: window indices, each window `step` points longer than the one before):
    the statsforecast models are fitted once per chain, on its first window long enough for them, and their fitted
    parameters applied at its later windows (`_statsforecast_chains`); windows in no chain, and every closed form,
    are fitted on their own.

    `models` are candidates; combinations' components are fitted as well and included in the result.
    spread="model": each model's own predictive sd (statsforecast's intervals; AutoTheta simulates them).
    spread="rw": every model's point forecast with the random walk with drift's sd of the same window — the
    shape over the horizon that the backtest calibration then rescales; statsforecast then computes no
    intervals, which is most of its cost on these short series. A model registered with own_spread=False
    (AutoTheta, whose intervals statsforecast simulates) always borrows the random walk's sd.
    The statsforecast calls run on `executor` in partitions of windows (forecasts.executors); the closed forms and
    Prophet (one random stream over its windows) run here.
    """
    request = FitRequest(windows, models, horizon, n_jobs, seed, spread, chains, step)
    return next(fit_many([request], executor))


def fit_many(requests: list[FitRequest], executor: Executor = InProcess()) -> Iterator[dict]:
    """`fit_windows` for several independent fits at once, each fit's result as soon as its partitions are done
    (in request order): every statsforecast partition of every fit goes to the executor in one `imap`, so the fits
    overlap on its workers, and the caller can use the first fit while the workers are still on the later ones.
    Results are as if fitted one by one."""
    plans = [_plan(r, executor) for r in requests]
    outputs = executor.imap(_statsforecast_task, [task for plan in plans for task in plan.tasks])
    for plan in plans:
        yield _finish(plan, [next(outputs) for _ in plan.tasks])


def _plan(request: FitRequest, executor: Executor) -> _Plan:
    """The closed forms fitted here, and the statsforecast partitions of one fit as executor tasks."""
    windows, horizon, n_jobs = request.windows, request.horizon, request.n_jobs
    aliases = expand(request.models)
    n = len(windows)
    result = {a: (np.full((n, horizon), np.nan), np.full((n, horizon), np.nan)) for a in aliases}
    lengths = np.array([w.size for w in windows])
    borrowed = {a for a in aliases if request.spread == "rw" or not spec(a).own_spread}
    plan = _Plan(request, aliases, lengths, borrowed, result)
    for alias in aliases:
        engine = spec(alias).engine
        if engine in ("closed_form", "prophet"):
            chosen = np.flatnonzero(lengths >= spec(alias).min_points)
            subset = [windows[i] for i in chosen]
            if not subset:
                continue
            mean, sd = (closed.CLOSED_FORM[alias](subset, horizon) if engine == "closed_form"
                        else closed.prophet(subset, horizon, request.seed))
            result[alias][0][chosen], result[alias][1][chosen] = mean, sd
    # statsforecast: one call per distinct set of models the window lengths allow (two or three groups).
    sf_aliases = tuple(a for a in aliases if spec(a).engine == "statsforecast")
    chains, step = request.chains or (), request.step
    chained = {i for chain in chains for i in chain}
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, length in enumerate(lengths.tolist()):
        allowed = tuple(a for a in sf_aliases if spec(a).min_points <= length)
        if allowed and i not in chained:
            groups.setdefault(allowed, []).append(i)
    # Chains: one cross-validation call per model and number of windows long enough for it.
    chain_groups: dict[tuple[str, int], list[list[int]]] = {}
    for chain in chains:
        if any(lengths[b] - lengths[a] != step for a, b in zip(chain, chain[1:])):
            raise ValueError(f"a chain's windows must each be {step} points longer than the one before")
        for alias in sf_aliases:
            eligible = [i for i in chain if lengths[i] >= spec(alias).min_points]
            if eligible:
                chain_groups.setdefault((alias, len(eligible)), []).append(eligible)
    for (alias, _), members in chain_groups.items():
        for part in split(len(members), executor.partitions_for(len(members))):
            chosen = [members[k] for k in part]
            plan.tasks.append(("chains", [[windows[i] for i in chain] for chain in chosen], (alias,), horizon,
                               _jobs(executor, n_jobs, len(chosen)), alias not in borrowed, step))
            plan.targets.append([i for chain in chosen for i in chain])
    for allowed, members in groups.items():
        # Models whose own intervals are wanted in one call, the others (point forecasts only) in another.
        for subset, intervals in ((tuple(a for a in allowed if a not in borrowed), True),
                                  (tuple(a for a in allowed if a in borrowed), False)):
            if not subset:
                continue
            for part in split(len(members), executor.partitions_for(len(members))):
                chosen = [members[k] for k in part]
                plan.tasks.append(([windows[i] for i in chosen], subset, horizon,
                                   _jobs(executor, n_jobs, len(chosen)), intervals))
                plan.targets.append(chosen)
    return plan


def _finish(plan: _Plan, outputs: list[dict]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The statsforecast partitions' forecasts in place; borrowed spreads, combinations; unusable fits NaN."""
    result, lengths, aliases = plan.result, plan.lengths, plan.aliases
    for chosen, fitted in zip(plan.targets, outputs):
        for alias, (mean, sd) in fitted.items():
            result[alias][0][chosen], result[alias][1][chosen] = mean, sd
    if plan.borrowed:
        rw_sd = closed.rw_drift(plan.request.windows, plan.request.horizon)[1]
        for alias in plan.borrowed:
            mean, _ = result[alias]
            result[alias] = (mean, np.where(np.isfinite(mean), rw_sd, np.nan))
    for alias in aliases:
        if spec(alias).engine == "combination":
            parts = spec(alias).components
            mean = np.mean([result[c][0] for c in parts], axis=0)
            # The spread is the components' median sd: one component's exploding interval (a log-scale trend
            # fitted to a short noisy series) does not make the combination's explode.
            sd = np.median([result[c][1] for c in parts], axis=0)
            too_short = lengths < max(spec(c).min_points for c in (*parts, alias))
            mean[too_short], sd[too_short] = np.nan, np.nan
            result[alias] = (mean, sd)
    for alias in aliases:
        mean, sd = result[alias]
        bad = ~(np.isfinite(mean) & np.isfinite(sd) & (sd >= 0))
        mean[bad], sd[bad] = np.nan, np.nan
    return result


def candidates_for(models: tuple[str, ...], n_points: int) -> tuple[str, ...]:
    return usable(tuple(m for m in models if m in REGISTRY), n_points)
