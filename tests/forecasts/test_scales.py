"""Scales and bounds: every inverse lands inside the bounds; candidates follow the bounds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.scales import LEVEL_TAIL_START, Bounds, candidate_transforms


@st.composite
def bounded_series(draw):
    lower = draw(st.floats(-1e3, 1e3))
    upper = lower + draw(st.floats(1e-2, 1e4))
    n = draw(st.integers(3, 30))
    shares = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    return lower + shares * (upper - lower), Bounds(lower, upper)


@settings(max_examples=80, deadline=None)
@given(bounded_series(), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=20))
def test_every_candidate_inverse_stays_inside_the_bounds(case, model_values):
    values, bounds = case
    transforms, _ = candidate_transforms(values, bounds)
    assert {t.scale for t in transforms} == {"logit", "level"}
    for transform in transforms:
        back = transform.inverse(np.array(model_values))
        assert (back >= bounds.lower).all() and (back <= bounds.upper).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1e9), min_size=3, max_size=30), st.lists(st.floats(-800, 800), min_size=1, max_size=20))
def test_counts_never_go_negative_on_any_scale(values, model_values):
    transforms, _ = candidate_transforms(np.array(values), Bounds(0.0, None))
    assert [t.scale for t in transforms] == ["log", "level"]
    for transform in transforms:
        assert (transform.inverse(np.array(model_values)) >= 0).all()


def test_log_round_trip_and_zero_offset():
    values = np.array([0.0, 2.0, 5.0, 9.0])
    (log, level), notes = candidate_transforms(values, Bounds(0.0, None))
    np.testing.assert_allclose(log.inverse(log.forward(values)), values)
    assert log.offset == 1.0 and "lower bound" in notes[0]


def test_unbounded_series_with_negative_values_has_only_the_level_scale():
    transforms, _ = candidate_transforms(np.array([-1.0, 0.5, 2.0]), Bounds())
    assert [t.scale for t in transforms] == ["level"]


def test_a_fixed_scale_leaves_one_candidate_and_a_preferred_one_goes_first():
    values = np.array([10.0, 20.0, 40.0])
    assert [t.scale for t in candidate_transforms(values, Bounds(0.0, None), fixed="level")[0]] == ["level"]
    assert [t.scale for t in candidate_transforms(values, Bounds(0.0, None), preferred="level")[0]] == ["level", "log"]


def test_values_outside_the_bounds_are_refused():
    with pytest.raises(ValueError):
        candidate_transforms(np.array([1.0, 600.0]), Bounds(0.0, 500.0))


@settings(max_examples=80, deadline=None)
@given(st.floats(-1e3, 1e3), st.floats(1e-2, 1e4), st.floats(0.0, 1.0),
       st.lists(st.floats(-1e5, 1e5), min_size=2, max_size=30), st.booleans())
def test_a_level_spread_around_its_median_approaches_a_bound_without_reaching_it(lower, width, at, draws, two_sided):
    upper = lower + width if two_sided else None
    median = lower + at * width
    transform = candidate_transforms(np.array([median, median]), Bounds(lower, upper), fixed="level")[0][0]
    x = np.sort(np.array(draws + [median]))
    back = transform.inverse_around(x, median)
    assert (np.diff(back) >= -1e-9 * max(1.0, abs(median))).all()  # ranks kept: paths stay paired
    assert back[np.searchsorted(x, median)] == pytest.approx(median)  # the median stays the median
    assert (back >= lower).all() and (upper is None or (back <= upper).all())
    if median - lower > 1e-3 * width:
        # within twice the median's distance to the bound, the bound is never reached (far beyond it float
        # rounding may touch it)
        near = x >= median - 2 * (median - lower)
        assert (back[near] > lower).all()
    if upper is None:
        above = x >= median
        assert back[above] == pytest.approx(x[above])  # away from a bound the level scale is unchanged


def test_a_level_spread_keeps_the_level_scale_until_near_the_bound_and_then_keeps_off_it():
    transform = candidate_transforms(np.array([90_000.0, 100_000.0]), Bounds(0.0, None), fixed="level")[0][0]
    start = LEVEL_TAIL_START * 100_000.0
    kept = transform.inverse_around(np.array([start + 1.0, 99_000.0, 250_000.0]), 100_000.0)
    assert kept == pytest.approx([start + 1.0, 99_000.0, 250_000.0])
    # A spread that the clipped level scale would put at 0 stays positive: an exponential tail from `start`.
    wide = transform.inverse_around(np.array([-50_000.0, 0.0]), 100_000.0)
    assert (transform.inverse(np.array([-50_000.0, 0.0])) == 0.0).all()
    assert wide == pytest.approx(start * np.exp((np.array([-50_000.0, 0.0]) - start) / start))
    assert (wide > 0).all()
