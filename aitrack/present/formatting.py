"""Numbers, years, probabilities and units in, the short text every surface prints out (one definition each)."""

from __future__ import annotations

import math

UNIT_LABELS = {
    "count": "count", "people": "people", "usd": "current US$", "usd_ppp": "current PPP $", "usd_const": "constant US$",
    "usd_million": "US$ million", "usd_ppp_million": "PPP $ million", "per_million": "per million people",
    "pct": "%", "pct_gdp": "% of GDP", "share": "share (0–1)", "score": "score", "bn_cny": "billion yuan",
    "bn_usd": "US$ billion",
}  # fmt: skip
DASH = "–"
# Country names that take the article inside a sentence ("when does China pass the United States?").
WITH_ARTICLE = {"USA": "the US", "GBR": "the United Kingdom", "EUU": "the European Union",
                "NLD": "the Netherlands", "PHL": "the Philippines", "ARE": "the United Arab Emirates"}


def unit_label(unit: str | None) -> str:
    if not unit:
        return ""
    return UNIT_LABELS.get(unit, unit.replace("_", " "))


def in_sentence(code: str) -> str:
    """A country's name as it reads inside a sentence: 'China', 'the United States'."""
    from contracts.countries import country_name

    return WITH_ARTICLE.get(code) or country_name(code)


def format_value(value: float | None, unit: str = "") -> str:
    """Short human-readable numbers: 103k, 1.5bn, 2.58%, 0.45."""
    if value is None or not math.isfinite(value):
        return DASH
    if unit in ("pct", "pct_gdp"):
        return f"{value:.3g}%"
    if unit in ("share", "score") and abs(value) <= 1:
        return f"{value:.2f}"
    magnitude = abs(value)
    for threshold, suffix in ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            return f"{value / threshold:.3g}{suffix}"
    if magnitude >= 100 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def year_text(year: int | None, horizon: int | None, *, open_ended: bool) -> str:
    """'2031'; 'after 2040' for a bound in the censored mass (`open_ended`); '–' when there is no estimate."""
    if year is not None:
        return str(year)
    if open_ended and horizon is not None:
        return f"after {horizon}"
    return DASH


def interval_text(lo: int | None, hi: int | None, horizon: int | None, *, open_ended: bool) -> str:
    """'2027–2033', '2033–after 2040', 'after 2040' (both ends beyond the horizon), '–' (no estimate)."""
    left, right = year_text(lo, horizon, open_ended=open_ended), year_text(hi, horizon, open_ended=open_ended)
    if left == DASH and right == DASH:
        return DASH
    return left if left == right else f"{left}–{right}"


def probability_text(p: float | None) -> str:
    """'7%', '<1%' for a small non-zero share, '>99%' short of certainty, '–' when unknown."""
    if p is None or not math.isfinite(p):
        return DASH
    if 0 < p < 0.005:
        return "<1%"
    if 0.995 < p < 1:
        return ">99%"
    return f"{p:.0%}"
