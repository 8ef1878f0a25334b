"""Forecasting: annual pair histories in, model forecasts, joint sample paths and crossovers out (no I/O)."""

from forecasts.backtest import BacktestResult, backtest_pair
from forecasts.crossover import Crossover, crossover_from_paths
from forecasts.dimension import DimensionForecast, forecast_dimension
from forecasts.models import DEFAULT_MODELS, SHORT_SERIES_MODELS
from forecasts.pair import (
    ForecastConfig,
    ForecastJob,
    PairForecast,
    SeriesSpec,
    forecast_many,
    forecast_pair,
)
from forecasts.scales import SeriesScale

__all__ = [
    "BacktestResult",
    "Crossover",
    "DEFAULT_MODELS",
    "DimensionForecast",
    "ForecastConfig",
    "ForecastJob",
    "PairForecast",
    "SHORT_SERIES_MODELS",
    "SeriesScale",
    "SeriesSpec",
    "backtest_pair",
    "crossover_from_paths",
    "forecast_dimension",
    "forecast_many",
    "forecast_pair",
]
