"""Scales and bounds: every inverse lands inside the bounds; candidates follow the bounds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.scales import Bounds, candidate_transforms


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
