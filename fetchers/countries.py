"""Provider country labels → ISO 3166-1 alpha-3, from per-source mapping files; aggregates excluded by a list, never by `if` chains."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pycountry

from contracts.countries import KNOWN_AGGREGATES

MAPPING_DIR = Path(__file__).with_name("countries")


@lru_cache(maxsize=None)
def _overrides(source: str) -> dict[str, str | None]:
    """`<source>.csv` with columns label,iso3: an empty iso3 means "known, not a country, drop it"."""
    path = MAPPING_DIR / f"{source}.csv"
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as fh:
        return {row["label"].strip().casefold(): (row["iso3"].strip() or None) for row in csv.DictReader(fh)}


@lru_cache(maxsize=None)
def aggregates() -> frozenset[str]:
    """Labels and codes of aggregates (regions, income groups, 'World'…) that are not countries."""
    path = MAPPING_DIR / "aggregates.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        return frozenset(row["label"].strip().casefold() for row in csv.DictReader(fh))


def is_aggregate(label: str) -> bool:
    return label.strip().casefold() in aggregates()


def is_listed(label: str, source: str) -> bool:
    """True when a mapping file knows the label: the source's overrides or the aggregates list (even if it maps to nothing)."""
    folded = label.strip().casefold()
    return folded in _overrides(source) or folded in aggregates()


@lru_cache(maxsize=4096)
def to_iso3(label: str, source: str) -> str | None:
    """ISO3 for a provider's label (name, alpha-2 or alpha-3), or None when it is an aggregate or unknown.

    Order: the source's override file, the known aggregates we keep (WLD…), then pycountry's ISO 3166 table.
    """
    key = label.strip()
    if not key:
        return None
    folded = key.casefold()
    overrides = _overrides(source)
    if folded in overrides:
        return overrides[folded]
    if key.upper() in KNOWN_AGGREGATES:
        return key.upper()
    if folded in aggregates():
        return None
    try:
        record = pycountry.countries.lookup(key)
    except LookupError:
        return None
    return record.alpha_3



