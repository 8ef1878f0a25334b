"""Live smoke tests: one small real request per source (run with `pytest -m live`; never in CI)."""

from __future__ import annotations

import os

import polars as pl
import pytest
from pydantic import SecretStr

from contracts.observations import validate_observations
from fetchers.http import HttpConfig, base_urls_from_env, build_client
from fetchers.registry import SOURCES, http_policies

pytestmark = pytest.mark.live


def config(tmp_path) -> HttpConfig:
    keys = {"openalex": SecretStr(os.environ["AITRACK_OPENALEX_API_KEY"])} if os.environ.get("AITRACK_OPENALEX_API_KEY") else {}
    return HttpConfig(contact_email=os.environ.get("AITRACK_CONTACT_EMAIL", ""), base_urls=base_urls_from_env(),
                      api_keys=keys, policies=http_policies(), cache_dir=tmp_path)


SMALL_QUERIES = {
    "worldbank": {"indicators": ("GB.XPD.RSDV.GD.ZS",), "since": 2015},
    "owid": {"slugs": ("annual-scholarly-publications-on-artificial-intelligence",)},
    "epoch": {"since": 2020},
    "openalex": {"since": 2020, "until": 2020},
    "oecd": {"since": 2015},
}


@pytest.mark.parametrize("source_id", sorted(SMALL_QUERIES))
def test_live_source_answers_in_the_expected_shape(source_id, tmp_path):
    fetcher = SOURCES[source_id].fetcher
    query = fetcher.Query(**SMALL_QUERIES[source_id])
    with build_client(source_id, type(fetcher).default_base_url, config(tmp_path)) as client:
        payloads = fetcher.extract(query, client)
    frame = validate_observations(fetcher.transform(payloads, query))
    assert {"USA", "CHN"} & set(frame["country"])
    assert frame.filter(pl.col("value") < 0).height == 0 or source_id == "worldbank"


def test_live_oecd_returns_every_msti_series(tmp_path):
    """The PPP and FTE codes in fetchers/oecd.py come from public client code: this checks them against the API."""
    fetcher = SOURCES["oecd"].fetcher
    query = fetcher.Query(dataflows=("msti",), since=2015)
    with build_client("oecd", type(fetcher).default_base_url, config(tmp_path)) as client:
        frame = fetcher.transform(fetcher.extract(query, client), query)
    assert {"gerd_pct_gdp", "goverd_pct_gdp", "herd_pct_gdp", "gerd_ppp_usd", "researchers_fte"} <= set(frame["indicator"])
