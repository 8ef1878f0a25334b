"""Helpers for the forecasts tests: real pair series (see fixtures/README.md) and synthetic pairs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

FIXTURES = Path(__file__).parent / "fixtures"


def load_pair(name: str) -> pl.DataFrame:
    return pl.read_csv(FIXTURES / name, schema={"country": pl.String, "year": pl.Int64, "value": pl.Float64})


def synthetic_log_pair(
    seed: int,
    *,
    n_history: int = 15,
    n_future: int = 15,
    gap: float = 3.0,
    drifts: tuple[float, float] = (0.25, 0.10),
    sigma: float = 0.08,
    correlation: float = 0.3,
    start_year: int = 2000,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Synthetic (not real) noisy log-linear pair: log values are random walks with drift and
    correlated shocks. CHN starts `gap` log units below USA and grows faster. Returns (history,
    continuation) as long frames of original-scale values."""
    rng = np.random.default_rng(seed)
    n = n_history + n_future
    shocks = rng.multivariate_normal([0, 0], [[1, correlation], [correlation, 1]], size=n) * sigma
    chn = 8.0 + np.cumsum(drifts[0] + shocks[:, 0])
    usa = 8.0 + gap + np.cumsum(drifts[1] + shocks[:, 1])
    years = np.arange(start_year, start_year + n)
    frame = pl.DataFrame(
        {
            "country": ["CHN"] * n + ["USA"] * n,
            "year": np.concatenate([years, years]),
            "value": np.exp(np.concatenate([chn, usa])),
        }
    )
    cut = start_year + n_history - 1
    return frame.filter(pl.col("year") <= cut), frame.filter(pl.col("year") > cut)


def swap_labels(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("country") == "CHN").then(pl.lit("USA")).otherwise(pl.lit("CHN")).alias("country")
    )
