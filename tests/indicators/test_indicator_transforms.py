"""Transforms: property tests of per capita, per GDP, share of world, deflation, pair share and log-ratio, plus a real-data check."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.transforms import deflate, log_ratio, pair_share, per_capita, per_gdp, share_of_world

positive = st.floats(min_value=1e-6, max_value=1e12, allow_nan=False, allow_infinity=False)
non_negative = st.floats(min_value=0.0, max_value=1e12, allow_nan=False, allow_infinity=False)
factor = st.floats(min_value=1e-3, max_value=1e3, allow_nan=False, allow_infinity=False)


def _pair(a: float, b: float, year: int = 2020) -> pl.DataFrame:
    return pl.DataFrame({"country": ["CHN", "USA"], "year": [year, year], "value": [a, b]})


def _share(frame: pl.DataFrame, **kwargs) -> float:
    out = pair_share(frame, **kwargs)
    assert out.height == 1
    return out["share"][0]


@given(non_negative, non_negative)
@settings(deadline=None)
def test_pair_share_is_bounded_and_mirrors(a, b):
    s = _share(_pair(a, b))
    assert 0.0 <= s <= 1.0
    swapped = _share(_pair(a, b), pair=("USA", "CHN"))
    assert swapped == pytest.approx(1.0 - s, abs=1e-12)


@given(positive, positive, factor)
@settings(deadline=None)
def test_pair_share_ignores_the_unit(a, b, k):
    assert _share(_pair(a * k, b * k)) == pytest.approx(_share(_pair(a, b)), rel=1e-9, abs=1e-12)


@given(non_negative, non_negative, non_negative)
@settings(deadline=None)
def test_pair_share_rises_with_the_first_country(a, b, extra):
    assert _share(_pair(a + extra, b)) >= _share(_pair(a, b)) - 1e-15
    # "Lower is better": more of the bad thing never helps.
    assert _share(_pair(a + extra, b), lower_is_better=True) <= _share(_pair(a, b), lower_is_better=True) + 1e-15


@given(positive, positive)
@settings(deadline=None)
def test_lower_is_better_is_the_share_of_reciprocals(a, b):
    direct = (1 / a) / (1 / a + 1 / b)
    assert _share(_pair(a, b), lower_is_better=True) == pytest.approx(direct, rel=1e-9)


def test_pair_share_edge_cases():
    assert _share(_pair(0.0, 0.0)) == 0.5
    assert _share(_pair(0.0, 5.0), lower_is_better=True) == 1.0
    assert pair_share(_pair(-1.0, 5.0)).height == 0  # a share of a negative quantity is undefined
    one_sided = pl.DataFrame({"country": ["CHN"], "year": [2020], "value": [3.0]})
    assert pair_share(one_sided).height == 0


@given(positive, positive)
@settings(deadline=None)
def test_log_ratio_is_antisymmetric_and_the_logit_of_the_share(a, b):
    r = log_ratio(_pair(a, b))["log_ratio"][0]
    assert log_ratio(_pair(a, b), pair=("USA", "CHN"))["log_ratio"][0] == pytest.approx(-r, abs=1e-12)
    s = _share(_pair(a, b))
    if 1e-6 < s < 1 - 1e-6:  # beyond that, 1 - s itself has lost the digits the comparison needs
        assert r == pytest.approx(math.log(s / (1 - s)), rel=1e-6, abs=1e-9)


@given(st.lists(st.tuples(non_negative, positive), min_size=1, max_size=8), factor)
@settings(deadline=None)
def test_per_capita_round_trips_and_is_homogeneous(rows, k):
    codes = [f"C{i:02d}" for i in range(len(rows))]
    values = pl.DataFrame({"country": codes, "year": [2020] * len(rows), "value": [r[0] for r in rows]})
    population = pl.DataFrame({"country": codes, "year": [2020] * len(rows), "value": [r[1] for r in rows]})
    per_head = per_capita(values, population, scale=1e6).sort("country")
    back = per_head["value"] * population.sort("country")["value"] / 1e6
    assert back.to_list() == pytest.approx(values["value"].to_list(), rel=1e-9, abs=1e-9)
    scaled = per_capita(values.with_columns(pl.col("value") * k), population, scale=1e6).sort("country")
    assert scaled["value"].to_list() == pytest.approx((per_head["value"] * k).to_list(), rel=1e-9, abs=1e-12)


@given(positive, st.floats(min_value=0.0, max_value=100.0))
@settings(deadline=None)
def test_per_gdp_recovers_the_percentage(gdp, pct):
    values = pl.DataFrame({"country": ["USA"], "year": [2020], "value": [gdp * pct / 100]})
    gdp_frame = pl.DataFrame({"country": ["USA"], "year": [2020], "value": [gdp]})
    assert per_gdp(values, gdp_frame)["value"][0] == pytest.approx(pct, rel=1e-9, abs=1e-9)


def test_per_capita_drops_rows_without_a_positive_denominator():
    values = pl.DataFrame({"country": ["USA", "CHN"], "year": [2020, 2020], "value": [1.0, 2.0]})
    population = pl.DataFrame({"country": ["USA", "CHN"], "year": [2020, 2020], "value": [0.0, 4.0]})
    assert per_capita(values, population)["country"].to_list() == ["CHN"]


@given(st.lists(non_negative, min_size=1, max_size=10).filter(lambda xs: sum(xs) > 0))
@settings(deadline=None)
def test_share_of_world_sums_to_one_when_the_world_is_the_sum(parts):
    codes = [f"C{i:02d}" for i in range(len(parts))]
    frame = pl.DataFrame(
        {"country": codes + ["WLD"], "year": [2020] * (len(parts) + 1), "value": parts + [sum(parts)]}
    )
    shares = share_of_world(frame)
    world = shares.filter(pl.col("country") == "WLD")["value"][0]
    assert world == pytest.approx(1.0)
    assert shares.filter(pl.col("country") != "WLD")["value"].sum() == pytest.approx(1.0, rel=1e-9)
    assert shares["value"].min() >= 0


@given(
    st.lists(st.tuples(positive, st.floats(min_value=1.0, max_value=500.0)), min_size=2, max_size=10),
    st.data(),
)
@settings(deadline=None, max_examples=50)
def test_deflate_keeps_the_base_year_and_inverts(rows, data):
    years = list(range(2000, 2000 + len(rows)))
    values = pl.DataFrame({"year": years, "value": [r[0] for r in rows]})
    index = pl.DataFrame({"year": years, "value": [r[1] for r in rows]})
    base = data.draw(st.sampled_from(years))
    real = deflate(values, index, base_year=base).sort("year")
    assert real.filter(pl.col("year") == base)["value"][0] == pytest.approx(values.filter(pl.col("year") == base)["value"][0])
    # Re-inflating with the same index (a base-year price level of 1/index) returns the current values.
    back = deflate(real, index.with_columns((1 / pl.col("value")).alias("value")), base_year=base).sort("year")
    assert back["value"].to_list() == pytest.approx(values["value"].to_list(), rel=1e-9)
    flat = deflate(values, index.with_columns(pl.lit(7.0).alias("value")), base_year=base).sort("year")
    assert flat["value"].to_list() == pytest.approx(values["value"].to_list(), rel=1e-12)


def test_deflate_needs_its_base_year():
    values = pl.DataFrame({"year": [2020], "value": [1.0]})
    with pytest.raises(ValueError, match="base year 2015"):
        deflate(values, pl.DataFrame({"year": [2020], "value": [100.0]}), base_year=2015)


def test_pair_share_on_real_publication_counts(pair_observations):
    papers = pair_observations.filter(pl.col("indicator") == "ai_papers")
    shares = pair_share(papers.select("indicator", "country", "year", "value"))
    wide = papers.pivot(on="country", index="year", values="value").sort("year")
    assert shares["year"].to_list() == wide["year"].to_list()
    expected = (wide["CHN"] / (wide["CHN"] + wide["USA"])).to_list()
    assert shares["share"].to_list() == pytest.approx(expected, rel=1e-12)


def test_duplicate_rows_are_refused():
    frame = pl.concat([_pair(1.0, 2.0), _pair(3.0, 2.0)])
    with pytest.raises(ValueError, match="more than one row"):
        pair_share(frame)
