"""Display names for ISO3 codes and the aggregates the project keeps: one definition for every surface."""

from __future__ import annotations

from functools import lru_cache

from contracts.pair import PAIR_AGGREGATES, PAIR_CODE, parse_pair

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


def can_pair(code: str) -> bool:
    """True for a code that may be one side of a pair: an ISO3 country, or one of PAIR_AGGREGATES."""
    if code in PAIR_AGGREGATES:
        return True
    if code in KNOWN_AGGREGATES:
        return False
    import pycountry

    return pycountry.countries.get(alpha_3=code) is not None


def check_pair(pair: tuple[str, str]) -> tuple[str, str]:
    """A parsed pair whose sides are both countries or PAIR_AGGREGATES; ValueError with one readable line otherwise."""
    if len(pair) != 2 or pair[0] == pair[1]:
        raise ValueError(f"a pair is two different codes, got {pair!r}")
    for code in pair:
        if not can_pair(code):
            allowed = ", ".join(PAIR_AGGREGATES)
            what = "an aggregate that cannot be one side of a pair" if code in KNOWN_AGGREGATES else "not an ISO3 country code"
            raise ValueError(f"{code!r} is {what} (a side is an ISO3 country or one of: {allowed})")
    return pair[0], pair[1]


def resolve_pair(text: str) -> tuple[str, str]:
    """'IND,CHN' → ('IND', 'CHN') after the syntax (contracts.pair.parse_pair) and the codes (check_pair) are checked."""
    return check_pair(parse_pair(text))
