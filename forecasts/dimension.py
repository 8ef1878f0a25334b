"""Dimension forecasts: indicator pair forecasts, share history and weights in, score paths and a parity crossover out.

Monte Carlo over (a) every indicator's joint sample paths, turned into China's share of the pair,
and (b) Dirichlet weight draws around the nominal weights (DESIGN §7). Path p of one indicator is
combined with path p of every other: their streams are independent, so dependence *between*
indicators is not modelled — a dimension's band is narrower than it would be if, say, papers and
patents moved together. Years where an indicator has neither data nor a forecast leave it out of
the weighted mean (and out of coverage); nothing is filled in.
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


@dataclass
class DimensionForecast:
    subject: str
    status: str  # "ok" | "insufficient_data"
    forecasts: pl.DataFrame  # score of pair[0] (China's share; 0.5 parity) by year, with coverage
    history: pl.DataFrame  # year, score, n_present, weight_present (nominal weights)
    path_years: np.ndarray
    paths: np.ndarray  # (n_paths, len(path_years)) scores
    crossover: Crossover
    members_forecast: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pair: tuple[str, str] = DEFAULT_PAIR
    model: str = "composite"


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
    """Score paths = weighted_pair_score(indicator share paths, Dirichlet weight draws); parity crossover.

    `shares_history` has columns indicator, year, share (China's share, direction applied, as
    indicators.composites.pair_shares returns). `directions[indicator]` is the catalog direction
    ("lower_is_better" turns a path's share into b/(a+b)); default higher_is_better. A year counts
    only when the present indicators carry ≥ `min_weight_present` of the nominal weight and number
    ≥ `min_indicators` (the dimension's coverage rule in the catalog).
    """
    directions = directions or {}
    members = [m for m, w in weights.items() if w > 0]
    nominal = np.array([weights[m] for m in members], dtype=float)
    notes: list[str] = []
    hist_years, hist_matrix = _history_matrix(shares_history, members)

    def coverage(present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_present = present.sum(axis=-1)
        weight_present = (present * nominal).sum(axis=-1) / nominal.sum()
        ok = (weight_present >= min_weight_present - 1e-12) & (n_present >= min_indicators)
        return n_present, weight_present, ok

    empty_forecasts = pl.DataFrame(schema=DIMENSION_FORECAST_SCHEMA)
    hist_scores = weighted_pair_score(hist_matrix, nominal) if hist_years.size else np.array([])
    n_hist, w_hist, ok_hist = coverage(~np.isnan(hist_matrix))
    hist_scores = np.where(ok_hist, hist_scores, np.nan)
    history = pl.DataFrame(
        {
            "year": hist_years,
            "score": hist_scores,
            "n_present": n_hist.astype(np.int64),
            "weight_present": w_hist.astype(float),
        },
        schema={"year": pl.Int64, "score": pl.Float64, "n_present": pl.Int64, "weight_present": pl.Float64},
    ).filter(pl.col("score").is_not_nan())
    usable = {
        m: f for m, f in indicator_forecasts.items() if m in members and f.status == "ok" and f.paths
    }
    if history.height == 0 or not usable:
        reason = "no year meets the coverage rule" if history.height == 0 else "no indicator could be forecast"
        return DimensionForecast(
            subject=subject,
            status="insufficient_data",
            forecasts=empty_forecasts,
            history=history,
            path_years=np.array([], dtype=np.int64),
            paths=np.empty((0, 0)),
            crossover=Crossover(subject=subject, pair=pair_label(pair), status="insufficient_data", model="composite",
                                subject_kind="dimension", horizon=config.horizon_year, notes=[reason]),
            warnings=[reason],
            pair=pair,
        )

    last_year = int(history["year"].max())
    # Stop where the first member's paths stop: past it the composite would silently change its
    # membership (a member's share goes missing), which shows up as a jump in the score, not as news.
    ends = [int(f.path_years[-1]) for f in usable.values() if f.path_years.size and f.path_years[-1] > last_year]
    end = min([max(last_year + config.horizon, config.horizon_year)] + ends)
    path_years = np.arange(last_year + 1, end + 1)
    n_paths = config.n_paths
    share_cube = np.full((n_paths, path_years.size, len(members)), np.nan)
    for j, member in enumerate(members):
        known = hist_matrix[:, j]
        for t, year in enumerate(path_years.tolist()):
            if year in hist_years:
                share_cube[:, t, j] = known[np.searchsorted(hist_years, year)]
        forecast = usable.get(member)
        if forecast is None:
            if member in indicator_forecasts:
                notes.append(f"{member}: no forecast ({indicator_forecasts[member].status}); left out of future years")
            continue
        a, b = forecast.paths[pair[0]], forecast.paths[pair[1]]
        if a.shape[0] != n_paths:
            raise ValueError(f"{member}: {a.shape[0]} paths, expected {n_paths}")
        shares = share_paths(a, b, directions.get(member) == "lower_is_better")
        position = {int(y): i for i, y in enumerate(forecast.path_years.tolist())}
        for t, year in enumerate(path_years.tolist()):
            if year in position and np.isnan(share_cube[0, t, j]):
                share_cube[:, t, j] = shares[:, position[year]]

    rng = np.random.default_rng(subject_seed(config.seed, f"dimension:{subject}"))
    weight_draws = draw_weights(nominal, concentration, n_paths, rng)
    scores = weighted_pair_score(share_cube, weight_draws[:, None, :])
    # An indicator counts in a year if any path has a share there (a path can lose a share when a
    # level-scale forecast turns negative; the weighted mean then renormalises on that path).
    n_present, weight_present, ok = coverage(~np.isnan(share_cube).all(axis=0))
    scores[:, ~ok] = np.nan
    if not ok.all():
        notes.append(f"{int((~ok).sum())} forecast year(s) fail the coverage rule and have no score")

    quantiles = np.full((QUANTILES.size, path_years.size), np.nan)
    if ok.any():
        quantiles[:, ok] = np.quantile(scores[:, ok], QUANTILES, axis=0)
    forecasts = pl.DataFrame(
        {
            "subject": [subject] * path_years.size,
            "year": path_years,
            "mean": quantiles[2],
            "lo_80": quantiles[1],
            "hi_80": quantiles[3],
            "lo_95": quantiles[0],
            "hi_95": quantiles[4],
            "n_present": n_present.astype(np.int64),
            "weight_present": weight_present.astype(float),
        },
        schema=DIMENSION_FORECAST_SCHEMA,
    ).filter(pl.col("mean").is_not_nan())

    score_history = pl.concat(
        [
            history.select(pl.lit(pair[0]).alias("country"), "year", pl.col("score").alias("value")),
            history.select(pl.lit(pair[1]).alias("country"), "year", (1.0 - pl.col("score")).alias("value")),
        ]
    )
    crossover = crossover_from_paths(
        score_history,
        path_years,
        {pair[0]: scores, pair[1]: 1.0 - scores},
        pair=pair,
        report_years=config.report_years,
        subject=subject,
        model="composite",
        kind="dimension",
        current_year=config.current_year,
        horizon_year=config.horizon_year,
    )
    crossover.notes.extend(notes)
    return DimensionForecast(
        subject=subject,
        status="ok",
        forecasts=forecasts,
        history=history,
        path_years=path_years,
        paths=scores,
        crossover=crossover,
        members_forecast=sorted(usable),
        warnings=notes,
        pair=pair,
    )
