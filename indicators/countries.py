"""Project-level country helpers on top of `fetchers.countries`: ISO3 codes in, pair defaults, display names and aggregate tests out."""

from __future__ import annotations

import polars as pl
import pycountry

from contracts.countries import KNOWN_AGGREGATES, check_pair, country_name
from contracts.pair import DEFAULT_PAIR, PAIR_CODE

# Codes kept as observations that are not countries; they never count as "a state" in derived series.
AGGREGATE_CODES: frozenset[str] = frozenset(KNOWN_AGGREGATES)

__all__ = [
    "AGGREGATE_CODES", "DEFAULT_PAIR", "PAIR_CODE", "display_name", "is_aggregate_code",
    "is_country", "rival", "states_only", "validate_pair",
]


def is_aggregate_code(code: str) -> bool:
    return code in AGGREGATE_CODES


def is_country(code: str) -> bool:
    """True for a current ISO 3166-1 alpha-3 country code (not an aggregate, not a user-assigned code)."""
    return code not in AGGREGATE_CODES and pycountry.countries.get(alpha_3=code) is not None


def display_name(code: str) -> str:
    return country_name(code)


def validate_pair(pair: tuple[str, str]) -> tuple[str, str]:
    """Check a comparison pair: two distinct ISO3 countries, or one of contracts.pair.PAIR_AGGREGATES (the EU as a
    bloc); the world and the bilateral unit cannot lead or trail."""
    if len(pair) != 2:
        raise ValueError(f"a pair has two countries, got {pair!r}")
    a, b = pair
    if a == b:
        raise ValueError(f"a pair needs two different countries, got {a} twice")
    return check_pair((a, b))


def rival(code: str, pair: tuple[str, str] = DEFAULT_PAIR) -> str:
    a, b = pair
    if code == a:
        return b
    if code == b:
        return a
    raise ValueError(f"{code} is not in the pair {a}/{b}")


def states_only(frame: pl.DataFrame, column: str = "country") -> pl.DataFrame:
    """Rows whose country is an ISO3 country, dropping aggregates and codes pycountry does not know."""
    codes = frame.get_column(column).unique().to_list()
    keep = [c for c in codes if c is not None and is_country(c)]
    return frame.filter(pl.col(column).is_in(keep))
