"""Dimension composites: selected observations in, per-indicator pair shares and per-dimension scores (Monte Carlo weight bands, coverage, sensitivity) out."""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl

from contracts.kinds import HISTORY_KINDS
from indicators.catalog import Catalog
from indicators.countries import DEFAULT_PAIR, validate_pair
from indicators.transforms import pair_share

PARITY = 0.5
# A score this close to 0.5 is parity: float noise must not crown a leader.
PARITY_TOLERANCE = 1e-12
LEVELS = (80, 95)

SHARES_SCHEMA = {
    "indicator": pl.String, "year": pl.Int64, "value_a": pl.Float64, "value_b": pl.Float64, "share": pl.Float64,
}
SCORES_SCHEMA = {
    "dimension": pl.String, "year": pl.Int64, "score": pl.Float64,
    "lo_80": pl.Float64, "hi_80": pl.Float64, "lo_95": pl.Float64, "hi_95": pl.Float64,
    "n_present": pl.Int64, "n_indicators": pl.Int64, "weight_present": pl.Float64,
    "status": pl.String, "leader": pl.String,
}
SENSITIVITY_SCHEMA = {
    "dimension": pl.String, "year": pl.Int64, "analysis": pl.String, "left_out": pl.String,
    "score": pl.Float64, "delta": pl.Float64, "leader": pl.String, "leader_flip_rate": pl.Float64,
}


# ------------------------------------------------------------------ array kernels


def weighted_pair_score(shares: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """shares[..., k]: China's pair share per indicator (NaN = missing); weights broadcastable to shares, ≥ 0.
    Returns score[...] = Σ w·s / Σ w over present indicators; NaN where none present."""
    shares = np.asarray(shares, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if np.any(weights < 0) or np.any(np.isnan(weights)):
        raise ValueError("weights must be non-negative numbers")
    present = ~np.isnan(shares)
    w = np.where(present, np.broadcast_to(weights, np.broadcast_shapes(shares.shape, weights.shape)), 0.0)
    numerator = np.sum(w * np.where(present, shares, 0.0), axis=-1)
    denominator = np.sum(w, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = numerator / denominator
    # Rounding in the division can step a hair outside the hull of the shares; clip back to it.
    low = np.min(np.where(present, shares, np.inf), axis=-1)
    high = np.max(np.where(present, shares, -np.inf), axis=-1)
    score = np.where(denominator > 0, np.clip(score, low, high), np.nan)
    return score


def draw_weights(nominal: np.ndarray, concentration: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n Dirichlet draws (n, k) with mean nominal/Σnominal and the given concentration."""
    nominal = np.asarray(nominal, dtype=float)
    if nominal.ndim != 1 or nominal.size == 0:
        raise ValueError("nominal weights must be a non-empty vector")
    if np.any(nominal < 0) or not np.sum(nominal) > 0:
        raise ValueError("nominal weights must be non-negative with a positive sum")
    if not concentration > 0:
        raise ValueError("concentration must be positive")
    mean = nominal / nominal.sum()
    draws = np.zeros((n, nominal.size))
    positive = mean > 0
    # A zero nominal weight stays zero: the Dirichlet is defined on the indicators that carry weight.
    draws[:, positive] = rng.dirichlet(concentration * mean[positive], size=n)
    return draws


def leader_of(score: float | None, pair: tuple[str, str]) -> str | None:
    """pair[0] above parity, pair[1] below, "parity" within PARITY_TOLERANCE, None without a score."""
    return None if score is None else _leader(score, pair)


def _leader(score: float, pair: tuple[str, str]) -> str | None:
    if np.isnan(score):
        return None
    if abs(score - PARITY) <= PARITY_TOLERANCE:
        return "parity"
    return pair[0] if score > PARITY else pair[1]


def _leader_codes(scores: np.ndarray) -> np.ndarray:
    """+1 first country leads, −1 second leads, 0 parity (NaN stays 0 but is masked by callers)."""
    codes = np.sign(np.nan_to_num(scores - PARITY))
    codes[np.abs(scores - PARITY) <= PARITY_TOLERANCE] = 0
    return codes


def _rng(seed: int, dimension: str) -> np.random.Generator:
    # Each dimension gets its own stream, so adding a dimension never changes another's bands.
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(dimension.encode("utf-8"))]))


# ------------------------------------------------------------------ frames


def pair_shares(observations: pl.DataFrame, catalog: Catalog, pair: tuple[str, str] = DEFAULT_PAIR) -> pl.DataFrame:
    """China's share of the pair per pair-comparison indicator and year, direction applied (history kinds only).

    `observations` must hold one observation per (indicator, country, year) (the database's v_latest_observation: db.read.Reader.latest_observations);
    indicators the catalog does not list, or lists as other than `pair`, are skipped.
    """
    pair = validate_pair(pair)
    history = observations.filter(
        pl.col("value_kind").is_in(HISTORY_KINDS) & pl.col("country").is_in(pair)
    )
    frames = []
    for indicator in sorted(history.get_column("indicator").unique().to_list()):
        if indicator not in catalog or catalog.get(indicator).comparison != "pair":
            continue
        entry = catalog.get(indicator)
        rows = history.filter(pl.col("indicator") == indicator)
        units = rows.get_column("unit").unique().to_list()
        if len(units) > 1:
            raise ValueError(f"{indicator}: the pair's observations are in different units {units}; harmonise first")
        shares = pair_share(
            rows.select("indicator", "country", "year", "value"), pair=pair,
            lower_is_better=entry.direction == "lower_is_better",
        )
        frames.append(shares)
    if not frames:
        return pl.DataFrame(schema=SHARES_SCHEMA)
    return pl.concat(frames).select(list(SHARES_SCHEMA)).cast(SHARES_SCHEMA).sort("indicator", "year")


def _matrix(shares: pl.DataFrame, members: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Years × members matrix of shares (NaN where missing) for the years any member has data."""
    rows = shares.filter(pl.col("indicator").is_in(members))
    years = np.array(sorted(rows.get_column("year").unique().to_list()), dtype=np.int64)
    matrix = np.full((years.size, len(members)), np.nan)
    if years.size == 0:
        return years, matrix
    year_index = {int(y): i for i, y in enumerate(years)}
    member_index = {m: j for j, m in enumerate(members)}
    if rows.select("indicator", "year").is_duplicated().any():
        raise ValueError("shares has more than one row per (indicator, year)")
    for indicator, year, share in rows.select("indicator", "year", "share").iter_rows():
        matrix[year_index[int(year)], member_index[indicator]] = share
    return years, matrix


def _coverage(matrix: np.ndarray, nominal: np.ndarray, spec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per year: indicators present, their share of the nominal weight, and whether that meets the dimension's rule."""
    present = ~np.isnan(matrix)
    n_present = present.sum(axis=1)
    weight_present = (present * nominal).sum(axis=1) / nominal.sum()
    ok = (weight_present >= spec.coverage_threshold - 1e-12) & (n_present >= spec.min_indicators)
    return n_present, weight_present, ok


def _quantile_band(draws: np.ndarray, nominal: float, level: int) -> tuple[float, float]:
    tail = (100 - level) / 200
    lo, hi = np.quantile(draws, [tail, 1 - tail])
    # The nominal weights are one admissible weighting, so the published score is always inside its band;
    # this only widens a band when a very low concentration makes the draws' distribution lopsided.
    return float(min(lo, nominal)), float(max(hi, nominal))


def dimension_scores(
    shares: pl.DataFrame, catalog: Catalog, *, n_draws: int = 2000, seed: int = 0,
    pair: tuple[str, str] = DEFAULT_PAIR,
) -> pl.DataFrame:
    """Per dimension and year: the weighted mean of pair shares, its 80/95% weight-uncertainty bands, coverage, status and leader."""
    rows: list[dict[str, object]] = []
    for dimension, spec in catalog.dimensions.items():
        weights = catalog.dimension_weights(dimension)
        members = list(weights)
        nominal = np.array([weights[m] for m in members])
        years, matrix = _matrix(shares, members)
        if years.size == 0:
            continue
        draws = draw_weights(nominal, spec.dirichlet_concentration, n_draws, _rng(seed, dimension))
        nominal_scores = weighted_pair_score(matrix, nominal)
        drawn_scores = weighted_pair_score(matrix[None, :, :], draws[:, None, :])  # (n_draws, years)
        n_present, weight_present, ok_years = _coverage(matrix, nominal, spec)
        for i, year in enumerate(years):
            ok = bool(ok_years[i])
            row: dict[str, object] = {
                "dimension": dimension, "year": int(year), "n_present": int(n_present[i]),
                "n_indicators": len(members), "weight_present": float(weight_present[i]),
                "status": "ok" if ok else "insufficient_data",
                "score": None, "lo_80": None, "hi_80": None, "lo_95": None, "hi_95": None, "leader": None,
            }
            if ok:
                score = float(nominal_scores[i])
                row["score"] = score
                row["leader"] = _leader(score, pair)
                for level in LEVELS:
                    row[f"lo_{level}"], row[f"hi_{level}"] = _quantile_band(drawn_scores[:, i], score, level)
            rows.append(row)
    return pl.DataFrame(rows, schema=SCORES_SCHEMA) if rows else pl.DataFrame(schema=SCORES_SCHEMA)


def sensitivity(
    shares: pl.DataFrame, catalog: Catalog, dimension: str, *, n_draws: int = 2000, seed: int = 0,
    pair: tuple[str, str] = DEFAULT_PAIR,
) -> pl.DataFrame:
    """For each year the dimension scores: how often the leader flips under weight draws, and the score with each indicator left out.

    Rows with analysis `weights` carry the nominal score and the share of draws whose leader differs from
    the nominal leader; rows with analysis `leave_one_out` carry the renormalised score without `left_out`,
    its change from the nominal score, and leader_flip_rate 1.0 if the leader changes, else 0.0.
    """
    spec = catalog.dimensions[dimension]
    weights = catalog.dimension_weights(dimension)
    members = list(weights)
    nominal = np.array([weights[m] for m in members])
    years, matrix = _matrix(shares, members)
    _, _, keep = _coverage(matrix, nominal, spec)
    years, matrix = years[keep], matrix[keep]  # a year without a score has nothing to be sensitive about
    if years.size == 0:
        return pl.DataFrame(schema=SENSITIVITY_SCHEMA)
    draws = draw_weights(nominal, spec.dirichlet_concentration, n_draws, _rng(seed, dimension))
    nominal_scores = weighted_pair_score(matrix, nominal)
    drawn_scores = weighted_pair_score(matrix[None, :, :], draws[:, None, :])
    flips = (_leader_codes(drawn_scores) != _leader_codes(nominal_scores)[None, :]).mean(axis=0)
    rows: list[dict[str, object]] = []
    for i, year in enumerate(years):
        score = float(nominal_scores[i])
        rows.append({
            "dimension": dimension, "year": int(year), "analysis": "weights", "left_out": None,
            "score": score, "delta": 0.0, "leader": _leader(score, pair), "leader_flip_rate": float(flips[i]),
        })
        for j, member in enumerate(members):
            if np.isnan(matrix[i, j]):
                continue  # leaving out an absent indicator changes nothing
            without = nominal.copy()
            without[j] = 0.0
            loo = float(weighted_pair_score(matrix[i], without))
            leader = _leader(loo, pair)
            rows.append({
                "dimension": dimension, "year": int(year), "analysis": "leave_one_out", "left_out": member,
                "score": None if np.isnan(loo) else loo, "delta": None if np.isnan(loo) else loo - score,
                "leader": leader,
                "leader_flip_rate": None if leader is None else float(leader != _leader(score, pair)),
            })
    return pl.DataFrame(rows, schema=SENSITIVITY_SCHEMA)


def missing_members(observations: pl.DataFrame, catalog: Catalog, pair: tuple[str, str] = DEFAULT_PAIR
                    ) -> dict[str, dict[str, list[str]]]:  # fmt: skip
    """Per dimension and pair side: the member indicators with no history value at all for that side (which is why
    its coverage is below the nominal weight). Dimensions where both sides have every member are left out."""
    history = observations.filter(pl.col("value_kind").is_in(HISTORY_KINDS) & pl.col("country").is_in(list(pair)))
    present = {(i, c) for i, c in history.select("indicator", "country").unique().iter_rows()}
    out: dict[str, dict[str, list[str]]] = {}
    for dimension in catalog.dimensions:
        members = list(catalog.dimension_weights(dimension))
        gaps = {c: [m for m in members if (m, c) not in present] for c in pair}
        gaps = {c: g for c, g in gaps.items() if g}
        if gaps:
            out[dimension] = gaps
    return out
