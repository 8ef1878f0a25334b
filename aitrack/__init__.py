"""aitrack: the application layer (CLI, settings, pipeline, HTTP API, dashboard, reports, the notebook `Tracker`)
wiring fetchers, db, indicators, forecasts."""

import os
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

# The forecasts fit many tiny models: BLAS threads only spin against each other there (docs/performance.md).
# Set before numpy loads; an operator's explicit setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

try:
    __version__ = version("uschina-ai-tracker")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"

if TYPE_CHECKING:
    from aitrack.notebook import Tracker


def __getattr__(name: str) -> Any:
    # `from aitrack import Tracker` loads the database layer only when asked: `import aitrack` stays light.
    if name == "Tracker":
        from aitrack.notebook import Tracker

        return Tracker
    raise AttributeError(f"module 'aitrack' has no attribute {name!r}")


__all__ = ["Tracker", "__version__"]
