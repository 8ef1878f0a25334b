"""Crossover: historical leadership, first passage, quantiles, p_by, status and symmetry."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts.crossover import crossover_from_paths, first_passage_years, leadership_changes

from forecast_helpers import swap_labels

YEARS = np.arange(2024, 2034)


def _history(chn, usa, start=2019):
    n = len(chn)
    return pl.DataFrame(
        {
            "country": ["CHN"] * n + ["USA"] * n,
            "year": list(range(start, start + n)) * 2,
            "value": list(map(float, chn)) + list(map(float, usa)),
        }
    )


@st.composite
def pair_paths(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n_paths = draw(st.integers(1, 60))
    drift = draw(st.floats(-0.3, 0.3))
    steps = rng.normal(drift, draw(st.floats(0.01, 0.5)), size=(n_paths, YEARS.size))
    gap = draw(st.floats(0.05, 2.0))
    # USA leads by `gap` at the end of history; CHN's path moves relative to it.
    usa = np.full((n_paths, YEARS.size), 10.0)
    chn = 10.0 - gap + np.cumsum(steps, axis=1)
    history = _history([10.0 - gap - 0.5, 10.0 - gap - 0.2, 10.0 - gap], [10.0, 10.0, 10.0])
    return history, {"CHN": chn, "USA": usa}


def test_leadership_changes_record_every_change_of_hands():
    years = np.arange(2012, 2020)
    gap = np.array([-1.0, -1.0, 0.0, 2.0, -1.0, -1.0, 1.0, 1.0])
    assert leadership_changes(years, gap) == [2015, 2016, 2018]


def test_oecd_ai_vc_history_has_china_leading_in_2017_then_falling_back(ai_vc):
    paths = {"CHN": np.zeros((10, 3)), "USA": np.ones((10, 3))}
    result = crossover_from_paths(ai_vc, np.arange(2026, 2029), paths)
    assert result.historical_crossings == [2017, 2018]
    assert result.leader_now == "USA" and result.last_crossing_year == 2018
    assert result.status == "not_within_horizon" and result.p_after_horizon == 1.0
    assert result.median_year is None and result.hi_95 is None


def test_first_passage_is_the_first_strictly_higher_year():
    leader = np.array([[5.0, 5.0, 5.0], [5.0, 5.0, 5.0], [5.0, 5.0, 5.0]])
    trailing = np.array([[4.0, 6.0, 7.0], [5.0, 5.0, 5.5], [1.0, 2.0, 3.0]])
    passage = first_passage_years(trailing, leader, np.array([2030, 2031, 2032]))
    np.testing.assert_array_equal(passage, [2031, 2032, np.nan])


def test_quantiles_and_p_by_from_known_passage_years():
    # 10 paths cross in 2025, 2026, ..., 2034 (one each); 10 never cross.
    n = 20
    leader = np.zeros((n, YEARS.size))
    trailing = np.full((n, YEARS.size), -1.0)
    for i in range(10):
        trailing[i, i:] = 1.0
    result = crossover_from_paths(
        _history([-1, -1, -1], [0, 0, 0]), YEARS, {"CHN": trailing, "USA": leader}, report_years=(2020, 2030, 2040)
    )
    assert result.p_by[2024] == pytest.approx(0.05) and result.p_by[2033] == pytest.approx(0.5)
    assert result.p_after_horizon == pytest.approx(0.5)
    assert result.status == "projected" and result.median_year == 2033
    assert result.lo_80 == 2025 and result.hi_80 is None  # P(T ≤ horizon) = 0.5 < 0.9
    assert result.p_by[2020] == 0.0 and result.p_by[2040] is None


@settings(max_examples=60, deadline=None)
@given(pair_paths())
def test_quantiles_nest_and_p_by_is_a_cdf(case):
    history, paths = case
    result = crossover_from_paths(history, YEARS, paths)
    probs = [result.p_by[int(y)] for y in YEARS]
    assert probs == sorted(probs) and 0.0 <= probs[0] and probs[-1] <= 1.0
    assert result.p_after_horizon == pytest.approx(1.0 - probs[-1])
    order = [result.lo_95, result.lo_80, result.median_year, result.hi_80, result.hi_95]
    present = [y for y in order if y is not None]
    assert present == sorted(present)
    # Quantiles beyond the horizon are None, and only the upper ones can be.
    assert order[: len(present)] == present
    assert (result.status == "projected") == (result.median_year is not None)


@settings(max_examples=60, deadline=None)
@given(pair_paths())
def test_swapping_the_countries_keeps_the_years_and_mirrors_the_leader(case):
    history, paths = case
    original = crossover_from_paths(history, YEARS, paths)
    swapped = crossover_from_paths(swap_labels(history), YEARS, {"CHN": paths["USA"], "USA": paths["CHN"]})
    for name in ("median_year", "lo_80", "hi_80", "lo_95", "hi_95", "p_by", "p_after_horizon", "historical_crossings"):
        assert getattr(original, name) == getattr(swapped, name)
    assert {original.leader_now, swapped.leader_now} == {"CHN", "USA"}
    assert swapped.status == "already_crossed"


def test_challenger_in_the_lead_is_already_crossed_with_the_year_it_passed():
    history = _history([1, 3, 5, 6], [2, 2, 2, 2])
    paths = {"CHN": np.full((4, 3), 7.0), "USA": np.array([[8.0] * 3, [1.0] * 3, [1.0] * 3, [1.0] * 3])}
    result = crossover_from_paths(history, np.arange(2023, 2026), paths)
    assert result.status == "already_crossed" and result.leader_now == "CHN"
    assert result.last_crossing_year == 2020
    # First passage now describes the USA passing back: one path in four, in the first year.
    assert result.p_by[2023] == pytest.approx(0.25)


def test_too_few_common_years_is_insufficient_data():
    history = pl.DataFrame({"country": ["CHN", "CHN", "USA", "USA"], "year": [2020, 2021, 2020, 2021], "value": [1.0, 2.0, 3.0, 4.0]})
    result = crossover_from_paths(history, YEARS, {"CHN": np.zeros((2, 10)), "USA": np.ones((2, 10))})
    assert result.status == "insufficient_data" and result.median_year is None


def test_to_dict_is_json_ready():
    import json

    result = crossover_from_paths(_history([1, 1, 1], [2, 2, 2]), YEARS, {"CHN": np.full((3, 10), 3.0), "USA": np.full((3, 10), 2.0)})
    record = json.loads(json.dumps(result.to_dict()))
    for key in ("subject", "kind", "pair", "leader_now", "status", "last_crossing_year", "median_year", "lo_80",
                "hi_80", "lo_95", "hi_95", "p_by", "horizon", "n_paths", "model", "run_id"):
        assert key in record
    assert record["p_by"]["2024"] == 1.0 and record["median_year"] == 2024


def _passing_paths(first_years, years, n_never=0):
    """Trailing paths that pass a flat leader in the given years (one path each), plus paths that never do."""
    n = len(first_years) + n_never
    leader = np.zeros((n, years.size))
    trailing = np.full((n, years.size), -1.0)
    for i, year in enumerate(first_years):
        trailing[i, years >= year] = 1.0
    return {"CHN": trailing, "USA": leader}


def test_data_ending_in_2020_with_most_paths_past_by_now_is_likely_crossed():
    years = np.arange(2021, 2041)
    paths = _passing_paths([2022, 2023, 2024, 2025, 2030, 2035], years, n_never=2)
    history = _history([-1, -1, -1], [0, 0, 0], start=2018)
    result = crossover_from_paths(history, years, paths, current_year=2026)
    assert result.data_end_year == 2020 and result.leader_now == "USA"
    # Exactly half passed by 2025 and none in 2026: the median year (2025) is past, so not "projected".
    assert result.p_crossed_by_now == pytest.approx(4 / 8)
    assert result.status == "likely_crossed" and result.median_year == 2025
    result = crossover_from_paths(history, years, _passing_paths([2022, 2023, 2030, 2031, 2032, 2035], years, 2),
                                  current_year=2026)
    assert result.p_crossed_by_now == pytest.approx(2 / 8) and result.status == "projected"
    assert result.median_year == 2031
    assert result.to_record().status == "projected" and result.to_record().data_end_year == 2020


def test_the_common_horizon_decides_projected_whatever_the_paths_length():
    years = np.arange(2021, 2051)
    paths = _passing_paths([2038, 2039, 2041, 2045], years, n_never=1)
    result = crossover_from_paths(_history([-1, -1, -1], [0, 0, 0], start=2018), years, paths,
                                  current_year=2026, horizon_year=2040)
    # Two of five pass by 2040: the 2041 and 2045 passings lie beyond the common horizon.
    assert result.horizon == 2040 and result.p_after_horizon == pytest.approx(3 / 5)
    assert result.status == "not_within_horizon" and 2045 not in result.p_by


@settings(max_examples=60, deadline=None)
@given(pair_paths(), st.integers(2020, 2040))
def test_never_projected_with_a_median_year_before_now(case, now):
    history, paths = case
    result = crossover_from_paths(history, YEARS, paths, current_year=now)
    if result.status == "projected":
        assert result.median_year is not None and result.median_year >= now
    if result.status == "likely_crossed":
        assert result.p_crossed_by_now >= 0.5 and result.median_year <= now


def test_lower_is_better_puts_the_lower_side_ahead():
    """IP payments (lower is better), BM.GSR.ROYL.CD 2018-2020 as in the snapshot's WDI 2021-09-15 file (US$ bn)."""
    import numpy as np
    import polars as pl

    from forecasts.crossover import crossover_from_paths

    history = pl.DataFrame({"country": ["CHN", "USA"] * 3, "year": [2018, 2018, 2019, 2019, 2020, 2020],
                            "value": [35.78295395325, 43.932, 34.37046647786, 42.732, 37.78173394996, 40.682]})  # fmt: skip
    years = np.arange(2021, 2041)
    paths = {"CHN": np.full((10, years.size), 30.0), "USA": np.full((10, years.size), 50.0)}
    higher = crossover_from_paths(history, years, paths, current_year=2026)
    lower = crossover_from_paths(history, years, paths, current_year=2026, lower_is_better=True)
    assert higher.leader_now == "USA" and higher.status == "not_within_horizon"
    assert lower.leader_now == "CHN" and lower.status == "already_crossed"
    assert lower.p_after_horizon == 1.0  # China keeps paying less on every path


def test_a_leading_challenger_likely_passed_back_by_now_is_likely_crossed():
    """China ahead in 2020 (the data end), the US past it on most paths by 2026: likely crossed, not "already"."""
    years = np.arange(2021, 2041)
    paths = _passing_paths([2022, 2023, 2024, 2030], years, n_never=1)
    swapped = {"CHN": paths["USA"], "USA": paths["CHN"]}  # the challenger leads, the US path rises past it
    history = _history([0, 0, 0], [-1, -1, -1], start=2018)
    result = crossover_from_paths(history, years, swapped, current_year=2026)
    assert result.leader_now == "CHN" and result.p_crossed_by_now == pytest.approx(3 / 5)
    assert result.status == "likely_crossed" and result.median_year == 2024
    assert any("passed CHN back" in note for note in result.notes)
