"""Dimension composites: property tests of the score kernel, the Dirichlet draws, the frame-level scores and the sensitivity table."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from indicators.composites import (
    SCORES_SCHEMA, dimension_scores, draw_weights, pair_shares, sensitivity, weighted_pair_score,
)

from .conftest import as_observations, tiny_catalog

share_or_missing = st.one_of(st.floats(0.0, 1.0), st.just(float("nan")))
# Weights are zero or ordinary numbers: a subnormal weight times a share underflows to 0 in any
# implementation, which says nothing about the score.
weight = st.one_of(st.just(0.0), st.floats(1e-6, 10.0))
K = 5
# Hypothesis tests run with deadline=None: polars and numpy calls can outlast 200 ms under xdist.


def _vectors(k: int = K):
    return st.tuples(
        arrays(np.float64, k, elements=share_or_missing),
        arrays(np.float64, k, elements=weight),
    )


# ------------------------------------------------------------------ kernel


@given(_vectors())
@settings(deadline=None)
def test_score_stays_in_the_unit_interval(vectors):
    shares, weights = vectors
    score = weighted_pair_score(shares, weights)
    present = ~np.isnan(shares) & (weights > 0)
    if present.any():
        assert 0.0 <= score <= 1.0
        assert np.nanmin(shares[present]) - 1e-12 <= score <= np.nanmax(shares[present]) + 1e-12
    else:
        assert np.isnan(score)


@given(_vectors())
@settings(deadline=None)
def test_swapping_the_countries_maps_s_to_one_minus_s(vectors):
    shares, weights = vectors
    score = weighted_pair_score(shares, weights)
    mirrored = weighted_pair_score(1.0 - shares, weights)
    if np.isnan(score):
        assert np.isnan(mirrored)
    else:
        assert mirrored == pytest.approx(1.0 - score, abs=1e-12)


@given(_vectors(), st.integers(0, K - 1), st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(1e-6, 10.0))
@settings(deadline=None)
def test_raising_a_weighted_component_never_lowers_the_score(vectors, j, bump, share_j, weight_j):
    shares, weights = vectors
    # Component j is present and weighted by construction (filtering with assume() rejected too many draws).
    shares[j], weights[j] = share_j, weight_j
    raised = shares.copy()
    raised[j] = min(1.0, shares[j] + bump)
    assert weighted_pair_score(raised, weights) >= weighted_pair_score(shares, weights) - 1e-12


@given(_vectors())
@settings(deadline=None)
def test_weights_renormalise_over_present_indicators(vectors):
    shares, weights = vectors
    present = ~np.isnan(shares)
    assume(present.any() and weights[present].sum() > 0)
    direct = np.sum(weights[present] * shares[present]) / np.sum(weights[present])
    assert weighted_pair_score(shares, weights) == pytest.approx(direct, abs=1e-12)
    # Only relative weights matter.
    assert weighted_pair_score(shares, 3.7 * weights) == pytest.approx(direct, abs=1e-12)


def test_kernel_broadcasts_over_draws_and_years():
    shares = np.array([[0.2, np.nan, 0.9], [0.6, 0.4, np.nan]])  # 2 years × 3 indicators
    draws = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 3.0]])  # 2 draws
    scores = weighted_pair_score(shares[None, :, :], draws[:, None, :])
    assert scores.shape == (2, 2)
    assert scores[0, 0] == pytest.approx(0.55) and scores[0, 1] == pytest.approx(0.5)
    assert scores[1, 0] == pytest.approx(0.9) and scores[1, 1] == pytest.approx(0.4)
    with pytest.raises(ValueError):
        weighted_pair_score(shares, np.array([1.0, -1.0, 1.0]))


@given(arrays(np.float64, st.integers(1, 6), elements=st.floats(0.0, 5.0)), st.floats(0.5, 200.0), st.integers(0, 2**32 - 1))
@settings(deadline=None, max_examples=40)
def test_draws_are_weight_vectors_that_keep_zeros(nominal, concentration, seed):
    assume(nominal.sum() > 0)
    draws = draw_weights(nominal, concentration, 50, np.random.default_rng(seed))
    assert draws.shape == (50, nominal.size)
    assert np.all(draws >= 0)
    assert np.allclose(draws.sum(axis=1), 1.0)
    assert np.all(draws[:, nominal == 0] == 0)


def test_draws_centre_on_nominal_and_tighten_with_concentration():
    nominal = np.array([1.0, 2.0, 0.5, 0.5])
    loose = draw_weights(nominal, 4.0, 40_000, np.random.default_rng(1))
    tight = draw_weights(nominal, 400.0, 40_000, np.random.default_rng(1))
    assert loose.mean(axis=0) == pytest.approx(nominal / nominal.sum(), abs=0.01)
    assert tight.mean(axis=0) == pytest.approx(nominal / nominal.sum(), abs=0.002)
    assert np.all(tight.std(axis=0) < loose.std(axis=0))
    # Dirichlet variance: m(1 - m) / (c + 1).
    m = nominal / nominal.sum()
    assert tight.var(axis=0) == pytest.approx(m * (1 - m) / 401, rel=0.05)


# ------------------------------------------------------------------ frames


def _observations(catalog, values: dict[str, tuple[float | None, float | None]], year: int = 2020) -> pl.DataFrame:
    rows = [
        {"indicator": ind, "country": code, "year": year, "value": v}
        for ind, (chn, usa) in values.items()
        for code, v in (("CHN", chn), ("USA", usa))
        if v is not None
    ]
    return as_observations(pl.DataFrame(rows, schema={"indicator": pl.String, "country": pl.String, "year": pl.Int64, "value": pl.Float64}), catalog)


MEMBERS = {
    "alpha": {"cohesion": 2.0, "values": 1.0},
    "beta": {"cohesion": 1.0, "influence": 1.0},
    "gamma": {"cohesion": 1.0, "legitimacy": 1.0},
    "delta": {"cohesion": 0.5},
}


def test_pair_shares_apply_direction_and_skip_non_pair(catalog, pair_observations):
    shares = pair_shares(pair_observations, catalog)
    assert set(shares["indicator"]) == {"ai_papers", "top500_systems", "gerd_pct_gdp", "gdp_usd", "unga_states_closer", "unga_mean_agreement"}
    assert shares["share"].is_between(0, 1).all()
    small = tiny_catalog({"alpha": {"cohesion": 1.0, "values": 1, "influence": 1, "legitimacy": 1}, "beta": {"cohesion": 1.0}},
                         directions={"beta": "lower_is_better"})
    obs = _observations(small, {"alpha": (3.0, 1.0), "beta": (3.0, 1.0)})
    got = dict(pair_shares(obs, small).select("indicator", "share").iter_rows())
    assert got == {"alpha": pytest.approx(0.75), "beta": pytest.approx(0.25)}


def test_projections_never_enter_the_shares(catalog, pair_observations):
    projected = pair_observations.with_columns(pl.lit("projection").alias("value_kind"))
    assert pair_shares(projected, catalog).height == 0


def test_scores_on_real_fixture_nest_and_mirror(catalog, pair_observations):
    shares = pair_shares(pair_observations, catalog)
    scores = dimension_scores(shares, catalog, n_draws=500, seed=3)
    assert scores.schema == pl.Schema(SCORES_SCHEMA)
    ok = scores.filter(pl.col("status") == "ok")
    assert ok.height > 0
    assert (ok["lo_95"] <= ok["lo_80"]).all() and (ok["lo_80"] <= ok["score"]).all()
    assert (ok["score"] <= ok["hi_80"]).all() and (ok["hi_80"] <= ok["hi_95"]).all()
    assert ok["lo_95"].min() >= 0 and ok["hi_95"].max() <= 1
    for row in ok.iter_rows(named=True):
        assert row["leader"] == ("CHN" if row["score"] > 0.5 else "USA" if row["score"] < 0.5 else "parity")
    # Swapping the pair: s → 1 − s, bands mirrored, leaders unchanged as countries.
    swapped_shares = pair_shares(pair_observations, catalog, pair=("USA", "CHN"))
    swapped = dimension_scores(swapped_shares, catalog, n_draws=500, seed=3, pair=("USA", "CHN"))
    joined = ok.join(swapped, on=["dimension", "year"], suffix="_s")
    assert joined.height == ok.height
    assert (joined["score"] + joined["score_s"] - 1).abs().max() < 1e-12
    assert (joined["lo_80"] + joined["hi_80_s"] - 1).abs().max() < 1e-9
    assert (joined["lo_95"] + joined["hi_95_s"] - 1).abs().max() < 1e-9
    assert (joined["leader"] == joined["leader_s"]).all()


def test_legitimacy_score_is_the_weighted_mean_of_its_two_real_shares(catalog, pair_observations):
    shares = pair_shares(pair_observations, catalog)
    legit = dimension_scores(shares, catalog, n_draws=200).filter(pl.col("dimension") == "legitimacy")
    wide = shares.filter(pl.col("indicator").is_in(["unga_states_closer", "unga_mean_agreement"])).pivot(
        on="indicator", index="year", values="share"
    )
    expected = dict(zip(wide["year"], ((wide["unga_states_closer"] + wide["unga_mean_agreement"]) / 2).to_list()))
    got = dict(legit.select("year", "score").iter_rows())
    assert got.keys() == expected.keys()
    assert got == pytest.approx(expected, abs=1e-12)
    assert (legit["n_present"] == 2).all() and (legit["weight_present"] == 1.0).all()


def test_coverage_below_threshold_reports_insufficient_data():
    small = tiny_catalog(MEMBERS, threshold=0.6, min_indicators=2)
    # Cohesion weights 2 + 1 + 1 + 0.5 = 4.5: alpha alone is 2/4.5 < 0.6; alpha and beta are 3/4.5 ≥ 0.6.
    only_alpha = _observations(small, {"alpha": (2.0, 1.0)}, year=2001)
    alpha_beta = _observations(small, {"alpha": (2.0, 1.0), "beta": (1.0, 1.0)}, year=2002)
    scores = dimension_scores(pair_shares(pl.concat([only_alpha, alpha_beta]), small), small, n_draws=100)
    cohesion = {r["year"]: r for r in scores.filter(pl.col("dimension") == "cohesion").iter_rows(named=True)}
    assert cohesion[2001]["status"] == "insufficient_data"
    assert cohesion[2001]["score"] is None and cohesion[2001]["leader"] is None and cohesion[2001]["lo_80"] is None
    assert cohesion[2001]["weight_present"] == pytest.approx(2 / 4.5)
    assert cohesion[2002]["status"] == "ok"
    assert cohesion[2002]["score"] == pytest.approx((2 * (2 / 3) + 1 * 0.5) / 3)
    assert (cohesion[2002]["n_present"], cohesion[2002]["n_indicators"]) == (2, 4)


pair_values = st.tuples(st.floats(0.0, 1e6), st.floats(0.0, 1e6))


@given(
    st.fixed_dictionaries({k: st.one_of(st.none(), pair_values) for k in MEMBERS}),
    st.sampled_from(list(MEMBERS)),
    st.floats(0.0, 1e6),
    st.integers(0, 1000),
)
@settings(max_examples=40, deadline=None)
def test_frame_level_invariants(values, bumped, extra, seed):
    small = tiny_catalog(MEMBERS, threshold=0.01, min_indicators=1)
    present = {k: v for k, v in values.items() if v is not None}
    assume(present)
    obs = _observations(small, present)
    scores = dimension_scores(pair_shares(obs, small), small, n_draws=200, seed=seed)
    for row in scores.filter(pl.col("status") == "ok").iter_rows(named=True):
        assert 0.0 <= row["lo_95"] <= row["lo_80"] <= row["score"] <= row["hi_80"] <= row["hi_95"] <= 1.0
    swapped = dimension_scores(pair_shares(obs, small, pair=("USA", "CHN")), small, n_draws=200, seed=seed)
    for a, b in zip(scores.sort("dimension").iter_rows(named=True), swapped.sort("dimension").iter_rows(named=True)):
        assert b["score"] == pytest.approx(1 - a["score"], abs=1e-12)
    if bumped in present:
        chn, usa = present[bumped]
        raised = dimension_scores(
            pair_shares(_observations(small, {**present, bumped: (chn + extra, usa)}), small), small, n_draws=10, seed=seed
        )
        before = dict(scores.select("dimension", "score").iter_rows())
        after = dict(raised.select("dimension", "score").iter_rows())
        assert all(after[d] >= before[d] - 1e-12 for d in before)


def test_sensitivity_leave_one_out_and_flips():
    small = tiny_catalog(MEMBERS, threshold=0.01, min_indicators=1)
    # All of China's shares above one half: no weighting can hand the lead to the US.
    same_side = _observations(small, {"alpha": (3.0, 1.0), "beta": (2.0, 1.0), "gamma": (5.0, 4.0)}, year=2010)
    # Shares straddle parity: some weightings flip the leader.
    straddle = _observations(small, {"alpha": (3.0, 1.0), "beta": (1.0, 3.0), "gamma": (1.0, 2.0), "delta": (2.0, 1.0)}, year=2011)
    shares = pair_shares(pl.concat([same_side, straddle]), small)
    table = sensitivity(shares, small, "cohesion", n_draws=2000, seed=1)
    weights = table.filter(pl.col("analysis") == "weights")
    flip = dict(weights.select("year", "leader_flip_rate").iter_rows())
    assert flip[2010] == 0.0
    assert 0.0 < flip[2011] < 1.0
    loo = table.filter((pl.col("analysis") == "leave_one_out") & (pl.col("year") == 2011))
    assert set(loo["left_out"]) == {"alpha", "beta", "gamma", "delta"}
    year_shares = dict(shares.filter(pl.col("year") == 2011).select("indicator", "share").iter_rows())
    w = {k: v["cohesion"] for k, v in MEMBERS.items()}
    nominal = sum(w[k] * year_shares[k] for k in w) / sum(w.values())
    for row in loo.iter_rows(named=True):
        rest = [k for k in w if k != row["left_out"]]
        expected = sum(w[k] * year_shares[k] for k in rest) / sum(w[k] for k in rest)
        assert row["score"] == pytest.approx(expected, abs=1e-12)
        assert row["delta"] == pytest.approx(expected - nominal, abs=1e-12)
        assert row["leader_flip_rate"] == float(row["leader"] != weights.filter(pl.col("year") == 2011)["leader"][0])
    # 2010 has no delta: leaving out the absent indicator is not listed.
    assert "delta" not in set(table.filter((pl.col("year") == 2010) & (pl.col("analysis") == "leave_one_out"))["left_out"])


def test_sensitivity_matches_the_published_bands(catalog, pair_observations):
    shares = pair_shares(pair_observations, catalog)
    scores = dimension_scores(shares, catalog, n_draws=400, seed=5).filter(pl.col("dimension") == "influence")
    table = sensitivity(shares, catalog, "influence", n_draws=400, seed=5).filter(pl.col("analysis") == "weights")
    ok = scores.filter(pl.col("status") == "ok")
    assert table["year"].to_list() == ok["year"].to_list()
    assert table["score"].to_list() == pytest.approx(ok["score"].to_list(), abs=1e-12)
    # A year whose whole 95% band sits on one side of parity cannot flip in more than 2.5% of draws.
    for row in ok.join(table, on="year").iter_rows(named=True):
        if row["lo_95"] > 0.5 or row["hi_95"] < 0.5:
            assert row["leader_flip_rate"] <= 0.025 + 1e-9
