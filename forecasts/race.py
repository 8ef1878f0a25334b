"""Who passes whom: joint sample paths of N countries in, the matrix of P(row ahead of column in year Y) out (pure).

The definition (docs/pairs.md): cell (i, j) for year Y is the share of joint paths in which country i's value in Y is
ahead of country j's — above it, or below it for a "lower is better" indicator. It is a statement about the year Y,
not a first passage: when i trails j today the cell is the probability that i has passed j by Y and is still ahead
then; when i leads today it is the probability that i is still ahead in Y. So (i, j) + (j, i) = 1 − P(tie in Y)
(ties have probability zero on simulated years), and reordering the countries permutes rows and columns alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# A country whose data end more than this many years before the panel's newest year is not ranked by its stale
# latest value (it would outrank countries on a figure a decade old); it is listed apart.
RECENT_WITHIN_YEARS = 5


def ahead_matrix(values: np.ndarray, lower_is_better: bool = False) -> np.ndarray:
    """values (n_paths, N) in one year → (N, N): entry (i, j) = share of paths with i strictly ahead of j; NaN on the
    diagonal. A path with a NaN for i or j counts for neither side."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"values must be (n_paths, N), got shape {x.shape}")
    if lower_is_better:
        x = -x
    n_paths = x.shape[0]
    if n_paths == 0:
        raise ValueError("no paths")
    ahead = x[:, :, None] > x[:, None, :]
    out = ahead.sum(axis=0) / n_paths
    np.fill_diagonal(out, np.nan)
    return out


def race_matrices(paths: np.ndarray, path_years: np.ndarray, years: Sequence[int],
                  lower_is_better: bool = False) -> dict[int, np.ndarray]:  # fmt: skip
    """paths (N, n_paths, len(path_years)) → {Y: ahead_matrix of year Y} for each Y of `years` on the path grid."""
    path_years = np.asarray(path_years)
    out = {}
    for year in years:
        hits = np.flatnonzero(path_years == int(year))
        if hits.size == 0:
            raise ValueError(f"{year} is not a path year ({path_years[0]}–{path_years[-1]})")
        out[int(year)] = ahead_matrix(np.asarray(paths)[:, :, hits[0]].T, lower_is_better)
    return out


def ahead_now(latest: Sequence[float], lower_is_better: bool = False) -> np.ndarray:
    """(N, N) booleans: row ahead of column on the latest observed values (the order the matrix starts from)."""
    x = -np.asarray(latest, dtype=float) if lower_is_better else np.asarray(latest, dtype=float)
    return x[:, None] > x[None, :]


def top_by_latest(latest: Mapping[str, tuple[int, float]], n: int, lower_is_better: bool = False,
                  recent_within: int = RECENT_WITHIN_YEARS) -> tuple[list[str], list[str]]:  # fmt: skip
    """`latest` country → (last year, value) → (the top n countries by value, best first, among those observed within
    `recent_within` years of the newest year; the stale countries left out that would have ranked in that top n).
    Ties break by code."""
    if n < 1:
        raise ValueError("n must be at least 1")
    if not latest:
        return [], []
    newest = max(year for year, _ in latest.values())
    recent = {c: v for c, (year, v) in latest.items() if year >= newest - recent_within}
    sign = 1.0 if lower_is_better else -1.0
    ranked = sorted(recent, key=lambda c: (sign * recent[c], c))[:n]
    overall = sorted(latest, key=lambda c: (sign * latest[c][1], c))[:n]
    return ranked, [c for c in overall if c not in recent]
