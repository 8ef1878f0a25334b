"""`fetchers/countries/un_members_2024.csv` (ISO3 of the 193 UN member states in 2024) in, the set of codes out: the denominator of China-only share-of-world series.

The file was derived from the State Department's 2024 UN voting-practices table (`un-coincidence-2024.csv`,
every member except the US, which the table compares against) plus USA; see docs/sources.md.
"""

from __future__ import annotations

import csv
from functools import lru_cache

from contracts.countries import is_valid_code
from fetchers.countries import MAPPING_DIR
from fetchers.errors import SchemaDriftError

UN_MEMBERS_FILE = MAPPING_DIR / "un_members_2024.csv"


@lru_cache(maxsize=1)
def un_member_codes() -> frozenset[str]:
    with UN_MEMBERS_FILE.open(newline="", encoding="utf-8") as fh:
        codes = [row["iso3"].strip() for row in csv.DictReader(fh)]
    bad = [c for c in codes if not is_valid_code(c)]
    if bad or len(codes) != len(set(codes)) or not codes:
        raise SchemaDriftError(f"{UN_MEMBERS_FILE.name}: not a list of distinct ISO3 codes (bad: {bad[:5]})")
    return frozenset(codes)
