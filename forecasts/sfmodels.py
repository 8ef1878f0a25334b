"""The statsforecast model classes the registry builds, each fitting a series from its own copy of the values.

statsforecast hands every model a view into one array holding all the series of a call. Some of its numerics
(numpy's SIMD reductions) round differently with the view's 16-byte alignment, that is with how many values the
series before it in the call hold: the same series could get forecasts differing in the 15th digit depending on its
batch-mates, on `n_jobs`, or on which executor partition it landed in. A fresh copy is always aligned alike, so a
series' fit depends on that series alone (`tests/forecasts/test_executors.py` holds the executors to it).
"""

from __future__ import annotations

import numpy as np
from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, Naive


class _OwnCopy:
    # statsforecast reads the signature (whether `level` is accepted), so it is spelled out as the models' own.
    def forecast(self, y, h, X=None, X_future=None, level=None, fitted=False):
        return super().forecast(np.array(y, dtype=np.float64, copy=True), h, X=X, X_future=X_future, level=level,
                                fitted=fitted)


class CopyingAutoETS(_OwnCopy, AutoETS):
    pass


class CopyingAutoTheta(_OwnCopy, AutoTheta):
    pass


class CopyingAutoARIMA(_OwnCopy, AutoARIMA):
    pass


class CopyingNaive(_OwnCopy, Naive):
    pass
