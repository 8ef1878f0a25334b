"""Display names for ISO3 codes and the aggregates the project keeps: one definition for every surface."""

from __future__ import annotations

from functools import lru_cache

from contracts.pair import PAIR_CODE

# Regional and world aggregates kept as observations (their codes are not ISO countries).
KNOWN_AGGREGATES: dict[str, str] = {"WLD": "World", "EUU": "European Union", PAIR_CODE: "United States–China (bilateral)"}
# Short names where ISO 3166's official ones read badly in a table or a sentence.
SHORT_NAMES: dict[str, str] = {"USA": "United States", "CHN": "China", "GBR": "United Kingdom", "KOR": "South Korea",
                               "RUS": "Russia", "IRN": "Iran", "TWN": "Taiwan", "VNM": "Vietnam"}


def is_valid_code(code: str) -> bool:
    """True for an ISO3 country code or one of the aggregates the project keeps."""
    if code in KNOWN_AGGREGATES:
        return True
    import pycountry

    return pycountry.countries.get(alpha_3=code) is not None


@lru_cache(maxsize=4096)
def country_name(code: str | None) -> str:
    """'China', 'United States', 'World'; the code itself when it is not a known country or aggregate."""
    if not code:
        return ""
    if code in KNOWN_AGGREGATES:
        return KNOWN_AGGREGATES[code]
    if code in SHORT_NAMES:
        return SHORT_NAMES[code]
    import pycountry

    record = pycountry.countries.get(alpha_3=code)
    if record is None:
        return code
    return getattr(record, "common_name", None) or record.name
