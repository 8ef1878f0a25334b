"""Derived indicators: checked against a plain-Python reading of the real V-Dem / World Bank fixture, plus invariants."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.observations import validate_observations
from indicators.countries import is_country
from indicators.derive import (
    DERIVATIONS, ai_papers_per_million, check_catalog, derive_all, gerd_usd,
    population_closer_democracy, states_closer_democracy, states_closer_freedom,
)

from .conftest import as_observations


def _oracle_closer(rows: list[dict], year: int, weights: dict[str, float] | None = None) -> dict[str, float]:
    scores = {r["country"]: r["value"] for r in rows if r["year"] == year and r["indicator"] == "liberal_democracy"}
    x_chn, x_usa = scores["CHN"], scores["USA"]
    totals = {"CHN": 0.0, "USA": 0.0}
    for code, x in scores.items():
        if code in ("CHN", "USA") or not is_country(code):
            continue
        if weights is not None and code not in weights:
            continue
        d_chn, d_usa = abs(x - x_chn), abs(x - x_usa)
        if abs(d_chn - d_usa) <= 1e-9:
            continue
        totals["CHN" if d_chn < d_usa else "USA"] += 1.0 if weights is None else weights[code]
    return totals


def _values(frame: pl.DataFrame, year: int) -> dict[str, float]:
    return dict(frame.filter(pl.col("year") == year).select("country", "value").iter_rows())


@pytest.mark.parametrize("year", [2019, 2020])
def test_states_closer_democracy_matches_a_direct_count(libdem_observations, year):
    derived = states_closer_democracy(libdem_observations)
    rows = libdem_observations.to_dicts()
    assert _values(derived, year) == _oracle_closer(rows, year)


@pytest.mark.parametrize("year", [2019, 2020])
def test_population_closer_democracy_matches_a_direct_sum(libdem_observations, year):
    derived = population_closer_democracy(libdem_observations)
    rows = libdem_observations.to_dicts()
    population = {r["country"]: r["value"] for r in rows if r["indicator"] == "population" and r["year"] == year}
    expected = _oracle_closer(rows, year, population)
    assert _values(derived, year) == pytest.approx(expected, rel=1e-12)


def test_closer_counts_mirror_when_the_pair_is_swapped(libdem_observations):
    forward = states_closer_democracy(libdem_observations)
    backward = states_closer_democracy(libdem_observations, pair=("USA", "CHN"))
    assert forward.sort("country", "year")["value"].to_list() == backward.sort("country", "year")["value"].to_list()


def test_derived_rows_carry_provenance(libdem_observations):
    derived = states_closer_democracy(libdem_observations)
    validate_observations(derived)
    assert set(derived["source"]) == {"aitrack"}
    assert set(derived["value_kind"]) == {"estimate"}
    assert set(derived["unit"]) == {"count"}
    # Same inputs → same fingerprint; one changed input score → a different one for that year only.
    again = states_closer_democracy(libdem_observations)
    assert derived["snapshot_id"].to_list() == again["snapshot_id"].to_list()
    bumped = libdem_observations.with_columns(
        pl.when((pl.col("country") == "FRA") & (pl.col("year") == 2020) & (pl.col("indicator") == "liberal_democracy"))
        .then(pl.col("value") + 0.001).otherwise(pl.col("value")).alias("value")
    )
    changed = states_closer_democracy(bumped)
    ids = {y: set(changed.filter(pl.col("year") == y)["snapshot_id"]) for y in (2019, 2020)}
    old = {y: set(derived.filter(pl.col("year") == y)["snapshot_id"]) for y in (2019, 2020)}
    assert ids[2019] == old[2019] and ids[2020] != old[2020]


def test_only_history_kinds_are_used(libdem_observations):
    projected = libdem_observations.with_columns(pl.lit("projection").alias("value_kind"))
    assert states_closer_democracy(projected).height == 0


def test_duplicated_keys_are_refused(libdem_observations):
    doubled = pl.concat([libdem_observations, libdem_observations.with_columns(pl.lit("v2").alias("vintage"))])
    with pytest.raises(ValueError, match="select one first"):
        states_closer_democracy(doubled)


def test_gerd_usd_and_papers_per_million(catalog, pair_observations, libdem_observations):
    population = libdem_observations.filter(pl.col("indicator") == "population")
    observations = pl.concat([pair_observations, population])
    gerd = gerd_usd(observations)
    pct = dict(((r["country"], r["year"]), r["value"]) for r in pair_observations.filter(pl.col("indicator") == "gerd_pct_gdp").iter_rows(named=True))
    gdp = dict(((r["country"], r["year"]), r["value"]) for r in pair_observations.filter(pl.col("indicator") == "gdp_usd").iter_rows(named=True))
    expected = {k: pct[k] * gdp[k] / 100 for k in pct.keys() & gdp.keys()}
    assert len(expected) > 0
    got = {(r["country"], r["year"]): r["value"] for r in gerd.iter_rows(named=True)}
    assert got == pytest.approx(expected, rel=1e-12)

    per_million = ai_papers_per_million(observations)
    papers = dict(((r["country"], r["year"]), r["value"]) for r in pair_observations.filter(pl.col("indicator") == "ai_papers").iter_rows(named=True))
    heads = dict(((r["country"], r["year"]), r["value"]) for r in population.iter_rows(named=True))
    expected = {k: papers[k] / heads[k] * 1e6 for k in papers.keys() & heads.keys()}
    assert len(expected) > 0
    got = {(r["country"], r["year"]): r["value"] for r in per_million.iter_rows(named=True)}
    assert got == pytest.approx(expected, rel=1e-12)


def test_derive_all_agrees_with_the_catalog(catalog, pair_observations, libdem_observations):
    check_catalog(catalog)
    derived = derive_all(pl.concat([pair_observations, libdem_observations]), catalog)
    assert set(derived["indicator"]) <= set(DERIVATIONS)
    for indicator in set(derived["indicator"]):
        assert set(derived.filter(pl.col("indicator") == indicator)["unit"]) == {catalog.get(indicator).unit}
    # No Freedom House rows in these fixtures: that derivation yields nothing rather than failing.
    assert "states_closer_freedom" not in set(derived["indicator"])


scores = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@given(scores, scores, st.lists(scores, min_size=0, max_size=25))
@settings(max_examples=80, deadline=None)
def test_every_state_is_counted_at_most_once(catalog, x_chn, x_usa, others):
    codes = ["FRA", "DEU", "IND", "BRA", "NGA", "JPN", "KOR", "MEX", "EGY", "IDN", "PAK", "TUR", "VNM", "IRN",
             "ZAF", "ARG", "COL", "KEN", "ETH", "THA", "PHL", "POL", "UKR", "CAN", "AUS"][: len(others)]
    rows = pl.DataFrame(
        {"indicator": ["freedom_house_total"] * (len(others) + 2), "country": ["CHN", "USA", *codes],
         "year": [2020] * (len(others) + 2), "value": [x_chn * 100, x_usa * 100, *(x * 100 for x in others)]}
    )
    derived = _values(states_closer_freedom(as_observations(rows, catalog)), 2020)
    if not others:
        assert derived == {}  # no third state, nothing to count: no row rather than a fake 0-0 parity
        return
    assert derived["CHN"] + derived["USA"] <= len(others)
    if abs(x_chn - x_usa) > 1e-6:
        # A state that matches one side exactly is closer to that side.
        extra = rows.vstack(pl.DataFrame({"indicator": ["freedom_house_total"], "country": ["CHL"], "year": [2020], "value": [x_usa * 100]}))
        grown = _values(states_closer_freedom(as_observations(extra, catalog)), 2020)
        assert grown["USA"] == derived["USA"] + 1 and grown["CHN"] == derived["CHN"]
