"""The comparison pair: (challenger, incumbent) ISO3 codes; China vs the United States by default."""

from __future__ import annotations

# China first: a pair share is China's share and 0.5 is parity; crossovers ask when China passes the US.
DEFAULT_PAIR: tuple[str, str] = ("CHN", "USA")
# ISO 3166 reserves X** codes for user assignment: XUC is "the US–China pair as one bilateral unit".
PAIR_CODE = "XUC"
# Aggregates that may stand as one side of a pair (docs/pairs.md): the European Union as one bloc. The world (WLD)
# contains both sides and the bilateral unit (XUC) is the default pair itself, so neither can lead or trail.
PAIR_AGGREGATES: tuple[str, ...] = ("EUU",)


def pair_label(pair: tuple[str, str]) -> str:
    """'CHN-USA': how a pair is stored and shown."""
    return f"{pair[0]}-{pair[1]}"


def parse_pair(text: str) -> tuple[str, str]:
    """'CHN,USA' or 'CHN-USA' → ('CHN', 'USA'); ValueError with one readable line otherwise."""
    parts = [p.strip().upper() for p in text.replace("-", ",").split(",") if p.strip()]
    if len(parts) != 2:
        raise ValueError(f"a pair is CHALLENGER,LEADER (two ISO3 codes), got {text!r}")
    if parts[0] == parts[1]:
        raise ValueError(f"a pair needs two different countries, got {parts[0]} twice")
    for code in parts:
        if len(code) != 3 or not code.isascii() or not code.isalpha():
            raise ValueError(f"{code!r} is not an ISO3 code")
    return parts[0], parts[1]
