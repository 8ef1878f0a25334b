"""aitrack: the application layer (CLI, settings, pipeline, HTTP API, dashboard, reports) wiring fetchers, db, indicators, forecasts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("uschina-ai-tracker")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
