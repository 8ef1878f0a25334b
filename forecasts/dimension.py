"""Dimension forecasts: indicator pair forecasts, share history and weights in, score paths, nowcast years and a
parity crossover out.

Monte Carlo over (a) every indicator's joint sample paths, turned into China's share of the pair,
and (b) Dirichlet weight draws around the nominal weights (DESIGN §7). Path p of one indicator is
combined with path p of every other: their streams are independent, so dependence *between*
indicators is not modelled — a dimension's band is narrower than it would be if, say, papers and
patents moved together.

**Nowcasts.** The dimension's data end in the latest year any member is observed (`data_end`). A member whose own
data end earlier enters the years up to `data_end` with its nowcast — its forecast share paths for those years —
instead of dropping out: a composite must not change leader because one member has not published yet. Such years
report the weight entered as nowcast (`weight_nowcast`, part of `weight_present`), and the coverage rule counts
both. A member is nowcast at most NOWCAST_MAX_YEARS past its last observation; years where a member has neither
data nor a forecast leave it out of the weighted mean (and out of coverage); nothing else is filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from contracts.dimensions import PARITY
from contracts.pair import DEFAULT_PAIR, pair_label
from forecasts.crossover import Crossover, crossover_from_paths
from forecasts.pair import QUANTILES, ForecastConfig, PairForecast
from forecasts.paths import subject_seed
from indicators.composites import draw_weights, weighted_pair_score

# A member is carried by its forecast for at most this many years past its last observation.
NOWCAST_MAX_YEARS = 5

DIMENSION_FORECAST_SCHEMA = {
    "subject": pl.String(),
    "year": pl.Int64(),
    "mean": pl.Float64(),
    "lo_80": pl.Float64(),
    "hi_80": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
    "n_present": pl.Int64(),
    "weight_present": pl.Float64(),
}
# Years up to the dimension's data end: the score (nominal weights; the median over nowcast paths), its 80/95 %
# band over weight draws (and nowcast paths), and the coverage behind it.
DIMENSION_HISTORY_SCHEMA = {
    "year": pl.Int64(),
    "score": pl.Float64(),
    "lo_80": pl.Float64(),
    "hi_80": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
    "n_present": pl.Int64(),
    "weight_present": pl.Float64(),
    "weight_nowcast": pl.Float64(),
}


@dataclass
class DimensionForecast:
    subject: str
    status: str  # "ok" | "insufficient_data"
    forecasts: pl.DataFrame  # score of pair[0] (China's share; 0.5 parity) by year after data_end, with coverage
    history: pl.DataFrame  # DIMENSION_HISTORY_SCHEMA: scored years up to data_end (measured and nowcast)
    path_years: np.ndarray
    paths: np.ndarray  # (n_paths, len(path_years)) scores
    crossover: Crossover
    members_forecast: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pair: tuple[str, str] = DEFAULT_PAIR
    model: str = "composite"
    data_end: int | None = None  # the last year any member is observed


def _column_median(values: np.ndarray) -> np.ndarray:
    """Per column, the median of the finite values; NaN for a year no member covers (without numpy's warning)."""
    out = np.full(values.shape[1], np.nan)
    some = np.isfinite(values).any(axis=0)
    out[some] = np.nanmedian(values[:, some], axis=0)
    return out


def share_paths(values_a: np.ndarray, values_b: np.ndarray, lower_is_better: bool) -> np.ndarray:
    """China's share a/(a+b) path by path (b/(a+b) if lower is better); the same rule as
    indicators.transforms.pair_share: negative sides are missing, both zero is parity."""
    top = values_b if lower_is_better else values_a
    total = values_a + values_b
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, top / total, PARITY)
    return np.where((values_a < 0) | (values_b < 0) | np.isnan(total), np.nan, share)


def _history_matrix(shares: pl.DataFrame, members: list[str]) -> tuple[np.ndarray, np.ndarray]:
    rows = shares.filter(pl.col("indicator").is_in(members))
    years = np.array(sorted(set(rows["year"].to_list())), dtype=np.int64)
    matrix = np.full((years.size, len(members)), np.nan)
    index = {int(y): i for i, y in enumerate(years)}
    for indicator, year, share in rows.select("indicator", "year", "share").iter_rows():
        matrix[index[int(year)], members.index(indicator)] = share
    return years, matrix


def _member_share_paths(forecast: PairForecast, pair: tuple[str, str], lower_is_better: bool) -> dict[int, np.ndarray]:
    """Year → (n_paths,) share paths of one member from its pair paths."""
    shares = share_paths(forecast.paths[pair[0]], forecast.paths[pair[1]], lower_is_better)
    return {int(y): shares[:, i] for i, y in enumerate(forecast.path_years.tolist())}


def _quantile_rows(values: np.ndarray) -> np.ndarray:
    """(QUANTILES, years) quantiles of (n, years) values; NaN where a year has no value."""
    out = np.full((QUANTILES.size, values.shape[1]), np.nan)
    ok = ~np.isnan(values).all(axis=0)
    if ok.any():
        out[:, ok] = np.nanquantile(values[:, ok], QUANTILES, axis=0)
    return out


def forecast_dimension(
    indicator_forecasts: dict[str, PairForecast],
    shares_history: pl.DataFrame,
    weights: dict[str, float],
    concentration: float,
    config: ForecastConfig = ForecastConfig(),
    *,
    subject: str = "dimension",
    directions: dict[str, str] | None = None,
    min_weight_present: float = 0.0,
    min_indicators: int = 1,
    pair: tuple[str, str] = DEFAULT_PAIR,
) -> DimensionForecast:
    """Score paths = weighted_pair_score(indicator share paths, Dirichlet weight draws); nowcast years; parity crossover.

    `shares_history` has columns indicator, year, share (China's share, direction applied, as
    indicators.composites.pair_shares returns). `directions[indicator]` is the catalog direction
    ("lower_is_better" turns a path's share into b/(a+b)); default higher_is_better. A year counts
    only when the present indicators (observed or nowcast) carry ≥ `min_weight_present` of the nominal weight and
    number ≥ `min_indicators` (the dimension's coverage rule in the catalog).
    """
    directions = directions or {}
    members = [m for m, w in weights.items() if w > 0]
    nominal = np.array([weights[m] for m in members], dtype=float)
    n_paths = config.n_paths
    notes: list[str] = []
    hist_years, hist_matrix = _history_matrix(shares_history, members)
    usable = {m: f for m, f in indicator_forecasts.items() if m in members and f.status == "ok" and f.paths}
    member_paths = {m: _member_share_paths(f, pair, directions.get(m) == "lower_is_better") for m, f in usable.items()}
    for m, f in usable.items():
        if f.paths[pair[0]].shape[0] != n_paths:
            raise ValueError(f"{m}: {f.paths[pair[0]].shape[0]} paths, expected {n_paths}")

    def coverage(observed: np.ndarray, nowcast: np.ndarray) -> tuple[np.ndarray, ...]:
        present = observed | nowcast
        n_present = present.sum(axis=-1)
        weight_present = (present * nominal).sum(axis=-1) / nominal.sum()
        weight_nowcast = (nowcast * nominal).sum(axis=-1) / nominal.sum()
        ok = (weight_present >= min_weight_present - 1e-12) & (n_present >= min_indicators)
        return n_present, weight_present, weight_nowcast, ok

    rng = np.random.default_rng(subject_seed(config.seed, f"dimension:{subject}"))
    weight_draws = draw_weights(nominal, concentration, n_paths, rng)
    empty = hist_years.size == 0
    data_end = None if empty else min(int(hist_years.max()), int(config.current_year))
    grid = np.array([], dtype=np.int64) if empty else np.arange(int(hist_years.min()), data_end + 1)

    # Years up to the data end: observed shares, and nowcasts of members whose own data end earlier.
    observed = np.zeros((grid.size, len(members)), dtype=bool)
    nowcast = np.zeros_like(observed)
    cube = np.full((n_paths, grid.size, len(members)), np.nan)
    for j, member in enumerate(members):
        column = hist_matrix[:, j]
        seen = hist_years[~np.isnan(column)]
        last_seen = int(seen.max()) if seen.size else None
        for t, year in enumerate(grid.tolist()):
            at = np.searchsorted(hist_years, year)
            if at < hist_years.size and hist_years[at] == year and not np.isnan(column[at]):
                cube[:, t, j] = column[at]
                observed[t, j] = True
            elif (last_seen is not None and last_seen < year <= last_seen + NOWCAST_MAX_YEARS
                  and year in member_paths.get(member, {})):  # fmt: skip
                cube[:, t, j] = member_paths[member][year]
                nowcast[t, j] = True
    n_hist, w_hist, w_now, ok_hist = coverage(observed, nowcast)
    nominal_scores = _column_median(weighted_pair_score(cube, nominal)) if grid.size else np.array([])
    bands = _quantile_rows(weighted_pair_score(cube, weight_draws[:, None, :])) if grid.size else np.empty((5, 0))
    history = pl.DataFrame(
        {
            "year": grid, "score": np.where(ok_hist, nominal_scores, np.nan),
            "lo_80": bands[1], "hi_80": bands[3], "lo_95": bands[0], "hi_95": bands[4],
            "n_present": n_hist.astype(np.int64), "weight_present": w_hist.astype(float),
            "weight_nowcast": w_now.astype(float),
        },
        schema=DIMENSION_HISTORY_SCHEMA,
    ).filter(pl.col("score").is_not_nan())  # fmt: skip
    if nowcast[ok_hist].any():
        years = grid[ok_hist & nowcast.any(axis=1)].tolist()
        notes.append(f"{len(years)} year(s) up to {data_end} partly nowcast (members whose data end earlier enter "
                     f"with their forecast): {years[0]}–{years[-1]}")
    if history.height == 0 or not usable:
        reason = "no year meets the coverage rule" if history.height == 0 else "no indicator could be forecast"
        return DimensionForecast(
            subject=subject, status="insufficient_data", forecasts=pl.DataFrame(schema=DIMENSION_FORECAST_SCHEMA),
            history=history, path_years=np.array([], dtype=np.int64), paths=np.empty((0, 0)),
            crossover=Crossover(subject=subject, pair=pair_label(pair), status="insufficient_data", model="composite",
                                subject_kind="dimension", horizon=config.horizon_year, notes=[reason]),
            warnings=[reason], pair=pair, data_end=data_end,
        )  # fmt: skip

    # After the data end: every member's forecast share paths, up to where the first member's paths stop (past it
    # the composite would silently change membership, which shows up as a jump in the score, not as news).
    ends = [int(f.path_years[-1]) for f in usable.values() if f.path_years.size and f.path_years[-1] > data_end]
    end = min([max(data_end + config.horizon, config.horizon_year)] + ends)
    path_years = np.arange(data_end + 1, end + 1)
    share_cube = np.full((n_paths, path_years.size, len(members)), np.nan)
    for j, member in enumerate(members):
        mine = member_paths.get(member)
        if mine is None:
            if member in indicator_forecasts:
                notes.append(f"{member}: no forecast ({indicator_forecasts[member].status}); left out of future years")
            continue
        for t, year in enumerate(path_years.tolist()):
            if year in mine:
                share_cube[:, t, j] = mine[year]
    scores = weighted_pair_score(share_cube, weight_draws[:, None, :])
    # An indicator counts in a year if any path has a share there (a path can lose a share when a
    # level-scale forecast turns negative; the weighted mean then renormalises on that path).
    future_present = ~np.isnan(share_cube).all(axis=0)
    n_present, weight_present, _, ok = coverage(future_present, np.zeros_like(future_present))
    scores[:, ~ok] = np.nan
    if not ok.all():
        notes.append(f"{int((~ok).sum())} forecast year(s) fail the coverage rule and have no score")
    quantiles = _quantile_rows(scores)
    forecasts = pl.DataFrame(
        {
            "subject": [subject] * path_years.size, "year": path_years, "mean": quantiles[2], "lo_80": quantiles[1],
            "hi_80": quantiles[3], "lo_95": quantiles[0], "hi_95": quantiles[4],
            "n_present": n_present.astype(np.int64), "weight_present": weight_present.astype(float),
        },
        schema=DIMENSION_FORECAST_SCHEMA,
    ).filter(pl.col("mean").is_not_nan())  # fmt: skip

    score_history = pl.concat(
        [
            history.select(pl.lit(pair[0]).alias("country"), "year", pl.col("score").alias("value")),
            history.select(pl.lit(pair[1]).alias("country"), "year", (1.0 - pl.col("score")).alias("value")),
        ]
    )
    crossover = crossover_from_paths(
        score_history, path_years, {pair[0]: scores, pair[1]: 1.0 - scores}, pair=pair,
        report_years=config.report_years, subject=subject, model="composite", kind="dimension",
        current_year=config.current_year, horizon_year=config.horizon_year,
    )  # fmt: skip
    crossover.notes.extend(notes)
    return DimensionForecast(
        subject=subject, status="ok", forecasts=forecasts, history=history, path_years=path_years, paths=scores,
        crossover=crossover, members_forecast=sorted(usable), warnings=notes, pair=pair, data_end=data_end,
    )  # fmt: skip
