"""The race matrix and the N-series correlation behind it: properties of `forecasts.race` and `forecasts.paths`.

Definition under test (docs/pairs.md): cell (i, j) of year Y = P(row i ahead of column j in Y), the share of joint
paths with i's value strictly ahead of j's; so (i, j) + (j, i) + P(tie) = 1 and reordering the countries permutes
rows and columns alike.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from forecasts.paths import (
    MAX_ABS_CORRELATION,
    MIN_EIGENVALUE,
    correlated_normals,
    residual_correlation,
    shrunk_correlation_matrix,
)
from forecasts.race import ahead_matrix, ahead_now, race_matrices, top_by_latest

# Values with repeats (a bound of 0 is where real paths tie) and without.
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
small_ints = st.integers(min_value=0, max_value=3).map(float)


@st.composite
def path_values(draw, elements=finite):
    n_paths = draw(st.integers(min_value=1, max_value=40))
    n = draw(st.integers(min_value=2, max_value=6))
    return draw(arrays(np.float64, (n_paths, n), elements=elements))


@given(st.one_of(path_values(), path_values(small_ints)), st.booleans())
def test_cells_are_probabilities_and_a_cell_plus_its_mirror_plus_ties_is_one(values, lower):
    m = ahead_matrix(values, lower)
    n = values.shape[1]
    off = ~np.eye(n, dtype=bool)
    assert np.isnan(np.diag(m)).all()
    assert ((m[off] >= 0) & (m[off] <= 1)).all()
    ties = np.array([[np.mean(values[:, i] == values[:, j]) for j in range(n)] for i in range(n)])
    np.testing.assert_allclose((m + m.T)[off], (1 - ties)[off], atol=1e-12)


@given(path_values(), st.data())
def test_reordering_the_countries_permutes_rows_and_columns(values, data):
    n = values.shape[1]
    order = np.array(data.draw(st.permutations(range(n))))
    m = ahead_matrix(values)
    reordered = ahead_matrix(values[:, order])
    np.testing.assert_array_equal(reordered, m[np.ix_(order, order)])


@given(path_values())
def test_swapping_two_countries_mirrors_their_cells_and_lower_is_better_transposes(values):
    m = ahead_matrix(values)
    swapped = ahead_matrix(values[:, [1, 0, *range(2, values.shape[1])]])
    assert swapped[0, 1] == m[1, 0] and swapped[1, 0] == m[0, 1]
    np.testing.assert_array_equal(ahead_matrix(values, lower_is_better=True), m.T)


def test_a_country_ahead_on_every_path_has_probability_one_and_the_other_zero():
    values = np.column_stack([np.linspace(10, 20, 50), np.linspace(1, 9, 50)])
    m = ahead_matrix(values)
    assert m[0, 1] == 1.0 and m[1, 0] == 0.0


def test_race_matrices_read_the_asked_years_off_the_path_grid():
    rng = np.random.default_rng(7)
    paths = rng.standard_normal((3, 100, 5))
    years = np.arange(2030, 2035)
    out = race_matrices(paths, years, [2030, 2034])
    np.testing.assert_array_equal(out[2034], ahead_matrix(paths[:, :, 4].T))
    with pytest.raises(ValueError, match="2040 is not a path year"):
        race_matrices(paths, years, [2040])


def test_ahead_now_and_the_ranking_follow_the_direction():
    assert ahead_now([5.0, 3.0]).tolist() == [[False, True], [False, False]]
    assert ahead_now([5.0, 3.0], lower_is_better=True).tolist() == [[False, False], [True, False]]
    latest = {"AAA": (2023, 5.0), "BBB": (2023, 9.0), "CCC": (2010, 50.0), "DDD": (2022, 1.0)}
    ranked, stale = top_by_latest(latest, 2)
    assert ranked == ["BBB", "AAA"] and stale == ["CCC"]  # CCC's figure is 13 years old: not ranked, but said
    assert top_by_latest(latest, 2, lower_is_better=True)[0] == ["DDD", "AAA"]


# ------------------------------------------------------------------ the shrunk N × N correlation
@st.composite
def error_panels(draw):
    n = draw(st.integers(min_value=2, max_value=7))
    t = draw(st.integers(min_value=3, max_value=25))
    x = draw(arrays(np.float64, (n, t), elements=st.floats(-5, 5, allow_nan=False)))
    holes = draw(arrays(np.bool_, (n, t)))
    return np.where(holes, np.nan, x), draw(st.floats(-0.3, 0.9))


@given(error_panels())
def test_the_shrunk_matrix_is_a_positive_definite_correlation_matrix(panel):
    errors, target = panel
    r, n = shrunk_correlation_matrix(errors, target)
    np.testing.assert_allclose(np.diag(r), 1.0)
    np.testing.assert_allclose(r, r.T)
    assert np.linalg.eigvalsh(r).min() >= MIN_EIGENVALUE * 0.5
    assert np.all(np.abs(r[~np.eye(len(r), dtype=bool)]) <= MAX_ABS_CORRELATION + 1e-9)
    np.linalg.cholesky(r)  # the shocks need its factor


@given(st.integers(min_value=4, max_value=40), st.floats(-0.9, 0.9), st.integers(0, 2**31 - 1))
def test_two_series_with_target_zero_reduce_to_the_pair_rule(n, rho, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.standard_normal(n)
    years = np.arange(n)
    pair, _ = residual_correlation(years, a, years, b)
    matrix, overlap = shrunk_correlation_matrix(np.vstack([a, b]), 0.0)
    assert overlap[0, 1] == n
    assert matrix[0, 1] == pytest.approx(pair if pair is not None else 0.0, abs=1e-9)


def test_a_pair_without_common_years_takes_the_panel_target():
    errors = np.array([[1.0, -1.0, 0.5, 2.0, np.nan, np.nan, np.nan, np.nan],
                       [np.nan, np.nan, np.nan, np.nan, 1.0, 0.0, -1.0, 0.3]])
    matrix, overlap = shrunk_correlation_matrix(errors, 0.3)
    assert overlap[0, 1] == 0 and matrix[0, 1] == pytest.approx(0.3)


def test_correlated_normals_have_the_asked_correlation():
    target = np.array([[1.0, 0.6, 0.2], [0.6, 1.0, 0.4], [0.2, 0.4, 1.0]])
    shocks = correlated_normals(np.random.default_rng(3), target, (20000, 2))
    observed = np.corrcoef(shocks[:, :, 0])
    np.testing.assert_allclose(observed, target, atol=0.03)
