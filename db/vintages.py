"""The vintage rules of stored observations: when a re-fetched value counts as unchanged, and the vintage a value
gets when a provider revised it without changing its release date. Both write paths (`db/write.py` row by row, the
PostgreSQL COPY path of `db/copy.py` set-based) apply these."""

from __future__ import annotations

import hashlib
import math

# Two values of one key within this relative tolerance are the same value (a float's round trip through a CSV or a
# JSON payload may move its last digit).
VALUE_REL_TOL = 1e-12


def values_equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=VALUE_REL_TOL, abs_tol=0.0)


def revision_vintage(vintage: str, value: float) -> str:
    """The vintage of a value a provider changed without changing its release date: `<vintage>#<digest of value>`.

    The suffix depends on the value only, so a retry or a second process storing the same revision produces the same
    key, which the unique constraint then admits once.
    """
    return f"{vintage}#{hashlib.sha256(repr(float(value)).encode()).hexdigest()[:8]}"
