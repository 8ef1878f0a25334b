"""Observation frames (several sources and vintages) in, one observation per (indicator, country, year) out, by catalog source priority."""

from __future__ import annotations

import polars as pl

from indicators.catalog import Catalog

_KEY = ["indicator", "country", "year"]


def _source_ranks(catalog: Catalog, indicators: list[str]) -> pl.DataFrame:
    rows = [
        {"indicator": ind, "source": src, "_rank": rank}
        for ind in indicators
        if ind in catalog
        for rank, src in enumerate(catalog.source_priority(ind))
    ]
    return pl.DataFrame(rows, schema={"indicator": pl.String, "source": pl.String, "_rank": pl.Int64})


def latest_by_priority(observations: pl.DataFrame, catalog: Catalog) -> pl.DataFrame:
    """Per (indicator, country, year): the newest vintage within the highest-priority source that has it.

    Sources the catalog does not list for an indicator rank after all listed ones (alphabetically among
    themselves, so the choice is deterministic); ties on vintage go to the latest retrieval. This is the
    rule the database's latest-observation view follows.
    """
    if observations.height == 0:
        return observations
    indicators = observations.get_column("indicator").unique().to_list()
    unlisted = 1_000_000
    ranked = observations.join(_source_ranks(catalog, indicators), on=["indicator", "source"], how="left")
    ranked = ranked.with_columns(pl.col("_rank").fill_null(unlisted))
    chosen = ranked.sort(
        [*_KEY, "_rank", "source", "vintage", "retrieved_at"],
        descending=[False, False, False, False, False, True, True],
    ).unique(subset=_KEY, keep="first", maintain_order=True)
    return chosen.drop("_rank").select(observations.columns)
