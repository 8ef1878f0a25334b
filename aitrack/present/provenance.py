"""(indicator, country, year) in, every stored vintage of that value with its payload chain out: source, series,
raw payload URL, retrieval date, licence, sha256, and the command that writes the raw bytes to a file."""

from __future__ import annotations

import polars as pl

from aitrack.queries import ProvenanceQuery, UnknownIdError

FETCH_COMMAND = "fetch_command"


def fetch_command(sha256: str) -> str:
    return f"aitrack payload {sha256} > {sha256[:12]}.raw"


def year_ranges(years: list[int]) -> str:
    """[1998, 1999, 2000, 2005] → '1998–2000, 2005'."""
    runs: list[list[int]] = []
    for year in sorted(set(years)):
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)


def provenance(reader, query: ProvenanceQuery) -> pl.DataFrame:
    """The vintages of one value (newest retrieval first), or UnknownIdError naming the years (or countries) that
    the indicator does have."""
    rows = reader.provenance(indicator=query.indicator, country=query.country, year=query.year)
    if rows.height == 0:
        keys = reader.observation_keys(query.indicator)
        years = keys.filter(pl.col("country") == query.country)["year"].to_list()
        if years:
            raise UnknownIdError.not_stored(f"no stored value for {query.indicator} {query.country} {query.year} "
                                            f"(stored years: {year_ranges(years)})", [str(y) for y in years])  # fmt: skip
        raise UnknownIdError.not_stored(f"no stored value for {query.indicator} {query.country}",
                                        sorted(set(keys["country"].to_list())))  # fmt: skip
    return rows.with_columns(
        pl.col("sha256").map_elements(fetch_command, return_dtype=pl.String()).alias(FETCH_COMMAND)
    )
