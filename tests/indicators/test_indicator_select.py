"""Selection: one observation per (indicator, country, year) — the newest vintage within the highest-priority source."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from indicators.select import latest_by_priority

from .conftest import as_observations


def _rows(pair_observations, indicator="gerd_pct_gdp"):
    return pair_observations.filter(pl.col("indicator") == indicator)


def test_higher_priority_source_wins_even_with_an_older_vintage(catalog, pair_observations):
    gerd = _rows(pair_observations)
    oecd = gerd.with_columns(pl.lit("oecd").alias("source"), pl.lit("2024-01-01").alias("vintage"))
    # The same years from the World Bank with a newer vintage and a marked value: priority must beat recency.
    worldbank = gerd.with_columns(
        pl.lit("worldbank").alias("source"), pl.lit("2025-06-01").alias("vintage"), (pl.col("value") + 1).alias("value")
    )
    chosen = latest_by_priority(pl.concat([worldbank, oecd]), catalog)
    assert chosen.height == gerd.height
    assert chosen["source"].unique().to_list() == ["oecd"]
    assert chosen.sort("country", "year")["value"].to_list() == gerd.sort("country", "year")["value"].to_list()


def test_lower_priority_source_fills_what_the_first_lacks(catalog, pair_observations):
    gerd = _rows(pair_observations)
    oecd = gerd.filter(pl.col("year") < 2015).with_columns(pl.lit("oecd").alias("source"))
    worldbank = gerd.with_columns(pl.lit("worldbank").alias("source"))
    chosen = latest_by_priority(pl.concat([oecd, worldbank]), catalog)
    assert chosen.height == gerd.height
    by_year = dict(chosen.select("year", "source").unique().iter_rows())
    assert all(src == ("oecd" if year < 2015 else "worldbank") for year, src in by_year.items())


def test_newest_vintage_within_a_source(catalog, pair_observations):
    papers = _rows(pair_observations, "ai_papers")
    old = papers.with_columns(pl.lit("2024-05-01").alias("vintage"))
    new = papers.with_columns(pl.lit("2025-05-01").alias("vintage"), (pl.col("value") * 2).alias("value"))
    chosen = latest_by_priority(pl.concat([new, old]), catalog)
    assert chosen["vintage"].unique().to_list() == ["2025-05-01"]
    assert chosen.sort("country", "year")["value"].to_list() == (papers.sort("country", "year")["value"] * 2).to_list()


def test_unlisted_source_ranks_last_but_is_kept_alone(catalog, pair_observations):
    papers = _rows(pair_observations, "ai_papers")
    user = papers.with_columns(pl.lit("user").alias("source"), (pl.col("value") + 5).alias("value"))
    chosen = latest_by_priority(pl.concat([user, papers]), catalog)
    assert chosen["source"].unique().to_list() == ["owid"]
    alone = latest_by_priority(user, catalog)
    assert alone.height == user.height and alone["source"].unique().to_list() == ["user"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["CHN", "USA", "IND"]), st.integers(2015, 2018),
            st.sampled_from(["oecd", "worldbank", "user"]), st.sampled_from(["2024-01-01", "2025-01-01"]),
            st.floats(0.1, 5.0),
        ),
        min_size=1, max_size=30, unique_by=lambda r: (r[0], r[1], r[2], r[3]),
    )
)
@settings(max_examples=60, deadline=None)
def test_selection_keeps_every_key_once_with_the_best_rank(catalog, rows):
    frame = as_observations(
        pl.DataFrame(
            {"indicator": ["gerd_pct_gdp"] * len(rows), "country": [r[0] for r in rows], "year": [r[1] for r in rows],
             "value": [r[4] for r in rows], "source": [r[2] for r in rows], "vintage": [r[3] for r in rows]}
        ),
        catalog,
    )
    chosen = latest_by_priority(frame, catalog)
    keys = ["indicator", "country", "year"]
    assert not chosen.select(keys).is_duplicated().any()
    assert set(chosen.select(keys).iter_rows()) == set(frame.select(keys).iter_rows())
    rank = {"oecd": 0, "worldbank": 1, "user": 2}
    for row in chosen.iter_rows(named=True):
        rivals = [r for r in rows if (r[0], r[1]) == (row["country"], row["year"])]
        best_rank = min(rank[r[2]] for r in rivals)
        assert rank[row["source"]] == best_rank
        assert row["vintage"] == max(r[3] for r in rivals if rank[r[2]] == best_rank)
