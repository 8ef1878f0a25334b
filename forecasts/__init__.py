"""Forecasting: annual pair histories in, calibrated forecasts, joint sample paths and crossovers out (no I/O).

The batch entry point is `forecast_many(jobs, config)`; `backtest_many` runs as-of backtests as one batch.
"""

from forecasts.backtest import BacktestRequest, BacktestResult, backtest_many, backtest_pair
from forecasts.crossover import Crossover, crossover_from_paths
from forecasts.dimension import DimensionForecast, forecast_dimension
from forecasts.pair import ForecastConfig, ForecastJob, PairForecast, SeriesSpec, forecast_many, forecast_pair, forecast_run
from forecasts.registry import DEFAULT_MODELS, REGISTRY, SHORT_SERIES_MODELS
from forecasts.scales import Bounds, SeriesScale
from forecasts.selection import RunCalibration

__all__ = [
    "BacktestRequest",
    "BacktestResult",
    "Bounds",
    "Crossover",
    "DEFAULT_MODELS",
    "DimensionForecast",
    "ForecastConfig",
    "ForecastJob",
    "PairForecast",
    "REGISTRY",
    "RunCalibration",
    "SHORT_SERIES_MODELS",
    "SeriesScale",
    "SeriesSpec",
    "backtest_many",
    "backtest_pair",
    "crossover_from_paths",
    "forecast_dimension",
    "forecast_many",
    "forecast_pair",
    "forecast_run",
]
