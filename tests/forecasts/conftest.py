"""Fixtures for the forecasts tests: the real pair series of fixtures/ (see its README)."""

from __future__ import annotations

import polars as pl
import pytest

from forecast_helpers import load_pair


@pytest.fixture(scope="session")
def ai_papers() -> pl.DataFrame:
    return load_pair("ai_papers_cset.csv")


@pytest.fixture(scope="session")
def ai_vc() -> pl.DataFrame:
    return load_pair("ai_vc_investment_oecd_ai.csv")


@pytest.fixture(scope="session")
def gerd_pct() -> pl.DataFrame:
    return load_pair("gerd_pct_gdp_worldbank.csv")
