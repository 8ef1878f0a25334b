"""Model scales round-trip and handle zeros, negatives and bounds."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from forecasts.scales import fit_transform

positive = arrays(float, st.integers(3, 30), elements=st.floats(1e-3, 1e12))
percent = arrays(float, st.integers(3, 30), elements=st.floats(0.5, 99.5))


@given(positive)
def test_log_round_trip(values):
    transform, notes = fit_transform(values, "log")
    assert not notes
    np.testing.assert_allclose(transform.inverse(transform.forward(values)), values, rtol=1e-9)


@given(percent)
def test_logit_round_trip_in_percent(values):
    transform, _ = fit_transform(values, "logit", (0.0, 100.0))
    np.testing.assert_allclose(transform.inverse(transform.forward(values)), values, rtol=1e-9)


@given(arrays(float, st.integers(3, 30), elements=st.floats(-50, 50)))
def test_logit_back_transform_stays_inside_bounds(model_values):
    transform, _ = fit_transform(np.array([10.0, 20.0]), "logit", (0.0, 100.0))
    back = transform.inverse(model_values * 10)
    assert (back >= 0).all() and (back <= 100).all()


def test_logit_bounds_inferred_from_values():
    share, _ = fit_transform(np.array([0.2, 0.4]), "logit")
    pct, _ = fit_transform(np.array([20.0, 40.0]), "logit")
    assert (share.lower, share.upper) == (0.0, 1.0)
    assert (pct.lower, pct.upper) == (0.0, 100.0)


def test_zero_counts_get_an_offset_and_a_warning():
    values = np.array([0.0, 2.0, 5.0, 9.0])
    transform, notes = fit_transform(values, "log")
    assert transform.offset == 1.0 and notes
    np.testing.assert_allclose(transform.inverse(transform.forward(values)), values, atol=1e-12)


def test_negative_values_fall_back_to_level():
    transform, notes = fit_transform(np.array([-1.0, 2.0, 3.0]), "log")
    assert transform.scale == "level" and notes


def test_values_outside_logit_bounds_are_rejected():
    with pytest.raises(ValueError):
        fit_transform(np.array([50.0, 120.0]), "logit", (0.0, 100.0))


def test_level_scale_with_bounds_holds_paths_inside_them():
    transform, _ = fit_transform(np.array([0.02, 0.03, 0.05]), "level", (0.0, 1.0))
    np.testing.assert_array_equal(transform.inverse(np.array([-0.2, 0.5, 1.3])), [0.0, 0.5, 1.0])
    unbounded, _ = fit_transform(np.array([0.02, 0.03]), "level")
    assert unbounded.inverse(np.array([-0.2]))[0] == -0.2
