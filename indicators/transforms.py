"""Pure harmonisation transforms on long frames (country, year, value): per capita, per GDP, share of world, deflation, pair share, log-ratio."""

from __future__ import annotations

import polars as pl

from indicators.countries import DEFAULT_PAIR

_KEY = ["country", "year"]


def _require(frame: pl.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s): {', '.join(missing)}")


def _unique_keys(frame: pl.DataFrame, keys: list[str], what: str) -> None:
    if frame.select(keys).is_duplicated().any():
        raise ValueError(f"{what} has more than one row per ({', '.join(keys)}); select one observation first")


def _ratio(numerator: pl.DataFrame, denominator: pl.DataFrame, scale: float, keys: list[str], what: str) -> pl.DataFrame:
    _require(numerator, [*keys, "value"], "numerator")
    _require(denominator, [*keys, "value"], what)
    _unique_keys(denominator, keys, what)
    joined = numerator.join(
        denominator.select([*keys, pl.col("value").alias("_denominator")]), on=keys, how="inner"
    )
    # A zero or negative denominator has no meaningful ratio: the row is dropped, not set to inf.
    return (
        joined.filter(pl.col("_denominator") > 0)
        .with_columns((pl.col("value") / pl.col("_denominator") * scale).alias("value"))
        .drop("_denominator")
    )


def per_capita(values: pl.DataFrame, population: pl.DataFrame, *, scale: float = 1.0) -> pl.DataFrame:
    """value / population × scale per (country, year); rows without a positive population are dropped."""
    return _ratio(values, population, scale, _KEY, "population")


def per_gdp(values: pl.DataFrame, gdp: pl.DataFrame, *, scale: float = 100.0) -> pl.DataFrame:
    """value / GDP × scale (default: percent of GDP) per (country, year), in the same currency unit."""
    return _ratio(values, gdp, scale, _KEY, "gdp")


def share_of_world(values: pl.DataFrame, *, world: str = "WLD") -> pl.DataFrame:
    """Each country's value as a fraction (0–1) of the `world` row of the same year; years without it are dropped."""
    _require(values, [*_KEY, "value"], "values")
    totals = values.filter(pl.col("country") == world).select("year", "value")
    _unique_keys(totals, ["year"], "world totals")
    return _ratio(values, totals, 1.0, ["year"], "world totals")


def deflate(values: pl.DataFrame, price_index: pl.DataFrame, *, base_year: int) -> pl.DataFrame:
    """Current money → constant `base_year` money: value × index[base_year] / index[year].

    `price_index` has (year, value), one currency's deflator (e.g. the US GDP deflator for US$ series);
    years without an index are dropped, and a missing base year is an error rather than a silent rebase.
    """
    _require(values, ["year", "value"], "values")
    _require(price_index, ["year", "value"], "price_index")
    _unique_keys(price_index, ["year"], "price_index")
    base = price_index.filter(pl.col("year") == base_year)
    if base.height == 0:
        raise ValueError(f"price_index has no value for the base year {base_year}")
    base_value = float(base["value"][0])
    if not base_value > 0:
        raise ValueError(f"price_index for the base year {base_year} is not positive")
    index = price_index.select("year", (base_value / pl.col("value")).alias("_factor"))
    return _scale_by(values, index)


def _scale_by(values: pl.DataFrame, factors: pl.DataFrame) -> pl.DataFrame:
    joined = values.join(factors, on="year", how="inner")
    return (
        joined.filter(pl.col("_factor").is_finite() & (pl.col("_factor") > 0))
        .with_columns((pl.col("value") * pl.col("_factor")).alias("value"))
        .drop("_factor")
    )


def _pair_wide(values: pl.DataFrame, pair: tuple[str, str]) -> pl.DataFrame:
    _require(values, [*_KEY, "value"], "values")
    a, b = pair
    group = ["indicator", "year"] if "indicator" in values.columns else ["year"]
    _unique_keys(values, [*group, "country"], "values")
    side_a = values.filter(pl.col("country") == a).select([*group, pl.col("value").alias("value_a")])
    side_b = values.filter(pl.col("country") == b).select([*group, pl.col("value").alias("value_b")])
    return side_a.join(side_b, on=group, how="inner").sort(group)


def pair_share(
    values: pl.DataFrame, *, pair: tuple[str, str] = DEFAULT_PAIR, lower_is_better: bool = False
) -> pl.DataFrame:
    """The first country's share of the pair, a/(a+b) (b/(a+b) when lower is better), per (indicator,) year.

    Returns (indicator,) year, value_a, value_b, share; 0.5 is parity. Years where either side is missing
    or negative are dropped (a share of a negative quantity is meaningless); both zero is parity.
    """
    wide = _pair_wide(values, pair)
    wide = wide.filter((pl.col("value_a") >= 0) & (pl.col("value_b") >= 0))
    # For "lower is better" the reciprocals' share (1/a)/(1/a + 1/b) equals b/(a+b), which stays finite at zero.
    top = pl.col("value_b") if lower_is_better else pl.col("value_a")
    total = pl.col("value_a") + pl.col("value_b")
    share = pl.when(total > 0).then(top / total).otherwise(pl.lit(0.5))
    return wide.with_columns(share.alias("share"))


def log_ratio(values: pl.DataFrame, *, pair: tuple[str, str] = DEFAULT_PAIR) -> pl.DataFrame:
    """ln(a/b) per (indicator,) year, for strictly positive values only; 0 is parity, antisymmetric in the pair."""
    wide = _pair_wide(values, pair).filter((pl.col("value_a") > 0) & (pl.col("value_b") > 0))
    return wide.with_columns((pl.col("value_a").log() - pl.col("value_b").log()).alias("log_ratio"))
