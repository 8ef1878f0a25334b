"""Joint sample paths: two countries' one-step errors in, a residual correlation, correlated shocks and calibrated
model-scale paths out."""

from __future__ import annotations

import functools
import zlib

import numpy as np

from forecasts.selection import INNER, OUTER, Z

Z_INNER, Z_OUTER = Z[INNER], Z[OUTER]

# Shrinkage prior for the residual correlation: worth this many overlapping errors, centred on 0.
CORRELATION_PRIOR_WEIGHT = 5
# Fewer overlapping errors than this and the correlation is not estimated at all.
MIN_CORRELATION_OVERLAP = 4
# An estimate of ±1 would make the two countries' paths move in lockstep; real pairs never do.
MAX_ABS_CORRELATION = 0.95


def residual_correlation(
    years_a: np.ndarray, errors_a: np.ndarray, years_b: np.ndarray, errors_b: np.ndarray
) -> tuple[float | None, int]:
    """Shrunk Pearson correlation of the two series' one-step errors on the years both have.

    The raw estimate r from n overlapping errors gets weight (n − 3)/(n + 2): zero at 3, one half
    at 8, 0.84 at 30 — a prior worth five observations at zero correlation, because on the 8–15
    overlapping years typical here r's sampling error (≈ 1/√n) is as large as r itself.
    Returns (None, n) when fewer than MIN_CORRELATION_OVERLAP errors overlap or one is constant.
    """
    errors_a_by_year = dict(zip(np.asarray(years_a).tolist(), np.asarray(errors_a, dtype=float)))
    pairs = [
        (errors_a_by_year[year], error_b)
        for year, error_b in zip(np.asarray(years_b).tolist(), np.asarray(errors_b, dtype=float))
        if year in errors_a_by_year
    ]
    pairs = np.array([p for p in pairs if np.isfinite(p[0]) and np.isfinite(p[1])], dtype=float)
    n = int(pairs.shape[0]) if pairs.size else 0
    if n < MIN_CORRELATION_OVERLAP:
        return None, n
    a, b = pairs[:, 0], pairs[:, 1]
    if a.std() == 0 or b.std() == 0:
        return None, n
    raw = float(np.corrcoef(a, b)[0, 1])
    shrunk = raw * (n - 3) / (n + CORRELATION_PRIOR_WEIGHT - 3)
    return float(np.clip(shrunk, -MAX_ABS_CORRELATION, MAX_ABS_CORRELATION)), n


def correlated_shocks(
    first: np.random.Generator, second: np.random.Generator, correlation: float, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Standard-normal shock arrays with the given correlation, element by element."""
    base_first = first.standard_normal(shape)
    base_second = second.standard_normal(shape)
    return base_first, correlation * base_first + np.sqrt(1.0 - correlation**2) * base_second


def subject_seed(seed: int, subject: str) -> np.random.SeedSequence:
    """A seed sequence per (run seed, subject): results do not depend on which worker ran which job."""
    return np.random.SeedSequence([int(seed), zlib.crc32(subject.encode("utf-8"))])


def canonical_order(series: dict[str, tuple[np.ndarray, np.ndarray]]) -> list[str]:
    """The two countries ordered by their data, not their labels.

    Random streams are handed out in this order, so relabelling the countries (swapping CHN's and
    USA's data) gives every series exactly the same paths as before — the swap test is exact.
    """

    def key(country: str) -> tuple:
        years, values = series[country]
        return (len(values), tuple(np.asarray(values, dtype=float).tolist()), tuple(np.asarray(years).tolist()), country)

    return sorted(series, key=key)


def random_walk_scores(shocks: np.ndarray) -> np.ndarray:
    """Standard-normal shocks (n_paths, h) → standard-normal path scores with random-walk dependence.

    Z_h = (e_1 + … + e_h)/√h is N(0, 1) at every step, and corr(Z_h, Z_k) = √(h/k): a path that is high one
    year tends to stay high, as the integrated models imply; each model's mean and spread then place it.
    """
    steps = np.arange(1, shocks.shape[1] + 1)
    scores = np.cumsum(shocks, axis=1)
    scores /= np.sqrt(steps)[None, :]
    return scores


def calibrated_quantile_map(z: np.ndarray, inner: np.ndarray, outer: np.ndarray) -> np.ndarray:
    """Monotone map of standard-normal scores so that the 80 % and 95 % quantiles become inner·z80 and outer·z95.

    Linear through zero up to z80, then linear from (z80, inner·z80) through (z95, outer·z95) and beyond it;
    ranks, and so the pairing of one country's paths with the other's, are unchanged.
    """
    z80, z95 = Z_INNER, Z_OUTER
    slope = np.maximum((outer * z95 - inner * z80) / (z95 - z80), 0.0)
    size = np.empty(np.broadcast_shapes(np.shape(z), np.shape(inner), np.shape(outer)))
    np.abs(z, out=size)
    # inner·|z| up to z80, inner·z80 + (|z| − z80)·slope beyond: the same sums, with fewer temporaries.
    beyond = size - z80
    np.maximum(beyond, 0.0, out=beyond)
    beyond *= slope
    np.minimum(size, z80, out=size)
    size *= inner
    size += beyond
    return np.copysign(size, z, out=size)


def model_scale_paths(mean: np.ndarray, sd: np.ndarray, inner: np.ndarray, outer: np.ndarray,
                      shocks: np.ndarray) -> np.ndarray:
    """Sample paths (n_paths, h) on the model scale from per-step means, sds, interval factors and shocks."""
    paths = calibrated_quantile_map(random_walk_scores(shocks), inner[None, :], outer[None, :])
    paths *= sd[None, :]
    paths += mean[None, :]
    return paths


def marginal_quantiles(mean: np.ndarray, sd: np.ndarray, inner: np.ndarray, outer: np.ndarray,
                       probabilities: np.ndarray) -> np.ndarray:
    """Model-scale quantiles (len(probabilities), h) of the calibrated marginal each path year is drawn from."""
    z = _normal_scores(tuple(np.asarray(probabilities, dtype=float).tolist()))[:, None]
    return mean[None, :] + sd[None, :] * calibrated_quantile_map(z, inner[None, :], outer[None, :])


@functools.lru_cache(maxsize=8)
def _normal_scores(probabilities: tuple[float, ...]) -> np.ndarray:
    from scipy.special import ndtri

    scores = ndtri(np.array(probabilities))
    scores.flags.writeable = False
    return scores


# ------------------------------------------------------------------ N series (the world panel, `aitrack race`)
# The smallest eigenvalue a shrunk correlation matrix keeps: it stays positive definite, so its Cholesky factor exists.
MIN_EIGENVALUE = 1e-3


def _pairwise(errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """errors (N, T), NaN where a series has no error that year → (raw Pearson r on the common years, their count).

    r is NaN where fewer than MIN_CORRELATION_OVERLAP years overlap or a series is constant on them.
    """
    x = np.asarray(errors, dtype=float)
    mask = np.isfinite(x).astype(float)
    x0 = np.where(mask > 0, x, 0.0)
    n = mask @ mask.T
    sx, sy = x0 @ mask.T, mask @ x0.T  # Σx over the years i and j share; Σy likewise
    sxx, syy = (x0**2) @ mask.T, mask @ (x0**2).T
    sxy = x0 @ x0.T
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = sxy - sx * sy / n
        var_x, var_y = sxx - sx**2 / n, syy - sy**2 / n
        r = cov / np.sqrt(var_x * var_y)
    scale = np.maximum(np.abs(x0).max(initial=0.0), 1.0) ** 2
    bad = (n < MIN_CORRELATION_OVERLAP) | (var_x <= 1e-12 * scale * n) | (var_y <= 1e-12 * scale * n) | ~np.isfinite(r)
    r = np.where(bad, np.nan, np.clip(r, -1.0, 1.0))
    return r, n.astype(int)


def panel_correlation_target(errors: np.ndarray) -> float:
    """The equicorrelation target: the mean pairwise correlation of one-year errors across the whole panel, each pair
    weighted by its n − 3 (a correlation's information) — thousands of pairs, so well estimated; 0 without any."""
    r, n = _pairwise(errors)
    upper = np.triu(np.ones_like(r, dtype=bool), k=1) & np.isfinite(r)
    weights = (n - 3)[upper].astype(float)
    if not upper.any() or weights.sum() <= 0:
        return 0.0
    return float(np.clip(np.sum(r[upper] * weights) / weights.sum(), -MAX_ABS_CORRELATION, MAX_ABS_CORRELATION))


def nearest_correlation(matrix: np.ndarray, min_eigenvalue: float = MIN_EIGENVALUE) -> np.ndarray:
    """A symmetric matrix with unit diagonal → the nearby positive-definite correlation matrix (eigenvalues floored at
    `min_eigenvalue`, then rescaled to a unit diagonal); a matrix that is already well conditioned is unchanged."""
    sym = (np.asarray(matrix, dtype=float) + np.asarray(matrix, dtype=float).T) / 2
    values, vectors = np.linalg.eigh(sym)
    if values.min() >= min_eigenvalue:
        return sym
    fixed = (vectors * np.maximum(values, min_eigenvalue)) @ vectors.T
    d = np.sqrt(np.diag(fixed))
    out = fixed / np.outer(d, d)
    np.fill_diagonal(out, 1.0)
    return (out + out.T) / 2


def shrunk_correlation_matrix(errors: np.ndarray, target: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """errors (N, T) → (the N × N correlation matrix of the joint paths, the overlap counts).

    Each pair's raw r from n common years is shrunk toward the equicorrelation `target` with the weight of
    `residual_correlation`, (n − 3)/(n + 2) — a prior worth CORRELATION_PRIOR_WEIGHT observations at the target; a
    pair with too few common years takes the target. Entries are held within ±MAX_ABS_CORRELATION and the matrix is
    made positive definite (`nearest_correlation`). With N = 2 and target 0 this is `residual_correlation` exactly.
    """
    r, n = _pairwise(errors)
    weight = np.clip((n - 3) / (n + CORRELATION_PRIOR_WEIGHT - 3), 0.0, 1.0)
    shrunk = np.where(np.isfinite(r), weight * np.nan_to_num(r) + (1 - weight) * target, target)
    shrunk = np.clip(shrunk, -MAX_ABS_CORRELATION, MAX_ABS_CORRELATION)
    np.fill_diagonal(shrunk, 1.0)
    return nearest_correlation(shrunk), n


def correlated_normals(rng: np.random.Generator, correlation: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Standard-normal shocks (N, *shape) whose series are correlated as `correlation` (N × N, positive definite)."""
    factor = np.linalg.cholesky(np.asarray(correlation, dtype=float))
    base = rng.standard_normal((correlation.shape[0], *shape))
    return np.einsum("ij,j...->i...", factor, base)
