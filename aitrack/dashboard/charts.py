"""Chart data in, SVG text out: history lines, 80%/95% forecast fans, the crossover band and seed-evidence markers.

Pure functions only (no I/O, no clock): the dashboard page and the HTML report embed the same SVG, rendered on the
server so the page needs no JavaScript library and no network.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from contracts.countries import country_name

# Okabe–Ito vermillion and blue: distinguishable with the common colour-vision deficiencies and in greyscale.
COUNTRY_COLOURS = {"CHN": "#D55E00", "USA": "#0072B2"}
OTHER_COLOUR = "#4D4D4D"
EVIDENCE_COLOUR = "#222222"

WIDTH, HEIGHT = 720, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 20, 34, 32


def country_colour(country: str | None) -> str:
    return COUNTRY_COLOURS.get(country or "", OTHER_COLOUR)


@dataclass(frozen=True)
class FanPoint:
    year: int
    mean: float
    lo_80: float
    hi_80: float
    lo_95: float
    hi_95: float


@dataclass(frozen=True)
class CountrySeries:
    """One country's line: history (measured/estimate), the provider's own projections, and our forecast fan."""

    country: str
    history: tuple[tuple[int, float], ...] = ()
    projections: tuple[tuple[int, float, str], ...] = ()  # (year, value, value_kind): never history
    fan: tuple[FanPoint, ...] = ()
    label: str | None = None

    @property
    def name(self) -> str:
        return self.label or country_name(self.country)


@dataclass(frozen=True)
class CrossoverBand:
    """The first-passage year's 80% interval; None on a side means it lies beyond the horizon."""

    lo_80: int | None
    hi_80: int | None
    median: int | None
    horizon: int | None
    label: str = ""


@dataclass(frozen=True)
class EvidenceMarker:
    """A seed figure drawn beside the series: at (year, value) when its unit matches, else as a year tick."""

    evidence_id: str
    year: int
    value: float | None
    country: str | None
    kind: str
    text: str


@dataclass(frozen=True)
class ChartSpec:
    title: str
    unit: str
    series: tuple[CountrySeries, ...] = ()
    crossover: CrossoverBand | None = None
    evidence: tuple[EvidenceMarker, ...] = ()
    reference: float | None = None
    reference_label: str = ""
    log_scale: bool = False
    chart_id: str = "chart"
    notes: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------- scales and ticks
def nice_step(span: float, target: int = 5) -> float:
    """A 1-2-5 step that cuts `span` into about `target` intervals."""
    if not span > 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(target, 1)
    if raw < sys.float_info.min:  # subnormal: log10 would lose its meaning (or fail at 0)
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * power * (1 + 1e-9):
            return multiple * power
    return 10 * power


def linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Ticks on a 1-2-5 grid whose first is ≤ lo and last ≥ hi (the axis is widened to them)."""
    if hi < lo:
        lo, hi = hi, lo
    # A range below float resolution at this magnitude is a flat line: give it a visible band around the value.
    if hi - lo <= 1e-9 * max(abs(lo), abs(hi)) or hi - lo < sys.float_info.min:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = nice_step(hi - lo, target)
    first = math.floor(lo / step + 1e-9)
    last = math.ceil(hi / step - 1e-9)
    if last == first:
        last += 1
    return [k * step + 0.0 for k in range(first, last + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    """Powers of ten bracketing [lo, hi] (both > 0), with 2 and 5 multiples when the range spans few decades."""
    if lo <= 0 or hi <= 0:
        raise ValueError("a log axis needs positive bounds")
    if hi < lo:
        lo, hi = hi, lo
    first = math.floor(math.log10(lo) + 1e-12)
    last = math.ceil(math.log10(hi) - 1e-12)
    if last == first:
        last += 1
    multiples = (1, 2, 5) if last - first <= 3 else (1,)
    ticks = [m * 10.0**p for p in range(first, last + 1) for m in multiples]
    ticks = [t for t in ticks if t <= 10.0**last]
    below = [t for t in ticks if t <= lo]
    above = [t for t in ticks if t >= hi]
    low, high = (below[-1] if below else ticks[0]), (above[0] if above else ticks[-1])
    return [t for t in ticks if low <= t <= high]


def year_ticks(first: int, last: int, target: int = 8) -> list[int]:
    span = max(last - first, 1)
    step = next((s for s in (1, 2, 5, 10, 20, 25, 50, 100) if span / s <= target), 100)
    start = math.ceil(first / step) * step
    return list(range(start, last + 1, step)) or [first]


def format_value(value: float, unit: str = "") -> str:
    """Short human-readable numbers: 103k, 1.5bn, 2.58%, 0.45."""
    if not math.isfinite(value):
        return "–"
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


@dataclass(frozen=True)
class Frame:
    """Data coordinates → SVG coordinates for one chart."""

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    log: bool
    width: int = WIDTH
    height: int = HEIGHT

    def x(self, year: float) -> float:
        span = (self.x_hi - self.x_lo) or 1.0
        return MARGIN_LEFT + (year - self.x_lo) / span * (self.width - MARGIN_LEFT - MARGIN_RIGHT)

    def y(self, value: float) -> float:
        if self.log:
            lo, hi = math.log10(self.y_lo), math.log10(self.y_hi)
            value = math.log10(min(max(value, self.y_lo), self.y_hi))
        else:
            lo, hi = self.y_lo, self.y_hi
            value = min(max(value, lo), hi)
        span = (hi - lo) or 1.0
        return self.height - MARGIN_BOTTOM - (value - lo) / span * (self.height - MARGIN_TOP - MARGIN_BOTTOM)


def _values(spec: ChartSpec) -> list[float]:
    values: list[float] = []
    for s in spec.series:
        values += [v for _, v in s.history] + [p[1] for p in s.projections]
        # The axis spans the 80% bands, not the 95% ones: an exploding outer band would flatten the history into
        # a line; the 95% band is clipped at the axis and the legend says so.
        for p in s.fan:
            values += [p.lo_80, p.hi_80, p.mean]
    values += [m.value for m in spec.evidence if m.value is not None]
    if spec.reference is not None:
        values.append(spec.reference)
    return [v for v in values if math.isfinite(v)]


def _years(spec: ChartSpec) -> list[int]:
    years: list[int] = []
    for s in spec.series:
        years += [y for y, _ in s.history] + [p[0] for p in s.projections] + [p.year for p in s.fan]
    years += [m.year for m in spec.evidence]
    band = spec.crossover
    if band is not None:
        years += [y for y in (band.lo_80, band.hi_80, band.median) if y is not None]
        if band.lo_80 is not None and band.hi_80 is None and band.horizon is not None:
            years.append(band.horizon)
    return years


def chart_frame(spec: ChartSpec, width: int = WIDTH, height: int = HEIGHT) -> tuple[Frame, list[float], list[int]]:
    """The axes' domains and ticks for a spec; a log axis falls back to linear when a value is not positive."""
    values, years = _values(spec), _years(spec)
    x_lo, x_hi = (min(years), max(years)) if years else (2000, 2030)
    if x_lo == x_hi:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    # Log axis only where its ticks stay normal floats (10**-308 is the smallest); otherwise linear.
    log = spec.log_scale and bool(values) and min(values) >= 1e-300
    if not values:
        y_ticks = [0.0, 1.0]
    elif log:
        y_ticks = log_ticks(min(values), max(values))
    else:
        lo, hi = min(values), max(values)
        # Counts and money read best from zero; a share or an index is easier to read on its own range.
        if lo >= 0 and spec.unit not in ("share", "score", "pct", "pct_gdp"):
            lo = 0.0
        y_ticks = linear_ticks(lo, hi)
    frame = Frame(x_lo, x_hi, y_ticks[0], y_ticks[-1], log, width, height)
    return frame, y_ticks, year_ticks(int(x_lo), int(x_hi))


# ---------------------------------------------------------------------------------------------- SVG pieces
# Characters XML 1.0 forbids (control characters, lone surrogates): a quote copied from a PDF can carry them.
_NOT_XML = re.compile("[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _text(text: str) -> str:
    """Element text: forbidden characters dropped, markup escaped."""
    return escape(_NOT_XML.sub("", text))


def _attr(text: str) -> str:
    """Text for inside a double-quoted attribute."""
    return escape(_NOT_XML.sub("", text), {'"': "&quot;"})


def _quoted(text: str) -> str:
    return quoteattr(_NOT_XML.sub("", text))


def _num(value: float) -> str:
    return f"{value:.1f}"


def _points(frame: Frame, pairs: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{_num(frame.x(x))},{_num(frame.y(y))}" for x, y in pairs)


def _segments(history: Sequence[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """Consecutive-year runs: a missing year breaks the line rather than being drawn as if interpolated."""
    runs: list[list[tuple[int, float]]] = []
    for year, value in sorted(history):
        if runs and year == runs[-1][-1][0] + 1:
            runs[-1].append((year, value))
        else:
            runs.append([(year, value)])
    return runs


def _band(frame: Frame, fan: Sequence[FanPoint], lo: str, hi: str) -> str:
    upper = [(p.year, getattr(p, hi)) for p in fan]
    lower = [(p.year, getattr(p, lo)) for p in reversed(fan)]
    return _points(frame, upper + lower)


def _axes(frame: Frame, y_ticks: Sequence[float], x_ticks: Sequence[int], unit: str) -> list[str]:
    out = ['<g class="axes">']
    left, right = MARGIN_LEFT, frame.width - MARGIN_RIGHT
    bottom = frame.height - MARGIN_BOTTOM
    for tick in y_ticks:
        y = frame.y(tick)
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{_num(y)}" y2="{_num(y)}"/>')
        out.append(f'<text class="tick y" x="{left - 6}" y="{_num(y + 4)}" text-anchor="end">'
                   f"{_text(format_value(tick, unit))}</text>")  # fmt: skip
    for year in x_ticks:
        x = frame.x(year)
        out.append(f'<line class="tick-mark" x1="{_num(x)}" x2="{_num(x)}" y1="{bottom}" y2="{bottom + 4}"/>')
        out.append(f'<text class="tick x" x="{_num(x)}" y="{bottom + 17}" text-anchor="middle">{year}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    out.append("</g>")
    return out


def _crossover(frame: Frame, band: CrossoverBand) -> list[str]:
    out: list[str] = []
    top, bottom = MARGIN_TOP, frame.height - MARGIN_BOTTOM
    if band.lo_80 is not None:
        end = band.hi_80 if band.hi_80 is not None else (band.horizon or band.lo_80)
        x0, x1 = sorted((frame.x(band.lo_80), frame.x(end)))
        if x1 - x0 < 4:
            x0, x1 = x0 - 2, x1 + 2
        hi_text = str(band.hi_80) if band.hi_80 is not None else f"after {band.horizon}"
        title = band.label or f"Crossover year, 80% interval: {band.lo_80}–{hi_text}"
        out.append(
            f'<rect class="crossover-band" x="{_num(x0)}" y="{top}" width="{_num(x1 - x0)}" '
            f'height="{bottom - top}"><title>{_text(title)}</title></rect>'
        )
        if band.hi_80 is None:
            out.append(f'<text class="crossover-open" x="{_num(x1 - 3)}" y="{top + 12}" text-anchor="end">→</text>')
    if band.median is not None:
        x = frame.x(band.median)
        out.append(
            f'<line class="crossover-median" x1="{_num(x)}" x2="{_num(x)}" y1="{top}" y2="{bottom}">'
            f"<title>{_text(f'Median crossover year: {band.median}')}</title></line>"
        )
    return out


def _series(frame: Frame, series: CountrySeries, unit: str) -> list[str]:
    colour = country_colour(series.country)
    cls = _attr(series.country)
    out = [f'<g class="series {cls}" data-country={_quoted(series.country)}>']
    if series.fan:
        out.append(f'<polygon class="fan-95" fill="{colour}" points="{_band(frame, series.fan, "lo_95", "hi_95")}">'
                   f"<title>{_text(series.name)}: 95% interval</title></polygon>")  # fmt: skip
        out.append(f'<polygon class="fan-80" fill="{colour}" points="{_band(frame, series.fan, "lo_80", "hi_80")}">'
                   f"<title>{_text(series.name)}: 80% interval</title></polygon>")  # fmt: skip
        out.append(f'<polyline class="forecast" stroke="{colour}" '
                   f'points="{_points(frame, [(p.year, p.mean) for p in series.fan])}"/>')  # fmt: skip
    for run in _segments(series.history):
        out.append(f'<polyline class="history" stroke="{colour}" points="{_points(frame, run)}"/>')
    for year, value in series.history:
        out.append(
            f'<circle class="point" cx="{_num(frame.x(year))}" cy="{_num(frame.y(value))}" r="2.6" fill="{colour}">'
            f"<title>{_text(f'{series.name} {year}: {format_value(value, unit)}')}</title></circle>"
        )
    for year, value, kind in series.projections:
        tip = f"{series.name} {year}: {format_value(value, unit)} ({kind} stated by the source, not history)"
        out.append(
            f'<circle class="statement {_attr(kind)}" cx="{_num(frame.x(year))}" cy="{_num(frame.y(value))}" '
            f'r="3.5" stroke="{colour}"><title>{_text(tip)}</title></circle>'
        )
    out.append("</g>")
    return out


def _diamond(x: float, y: float, r: float = 5.0) -> str:
    return f"{_num(x)},{_num(y - r)} {_num(x + r)},{_num(y)} {_num(x)},{_num(y + r)} {_num(x - r)},{_num(y)}"


def _triangle(x: float, y: float, r: float = 5.5) -> str:
    return f"{_num(x - r)},{_num(y - r)} {_num(x + r)},{_num(y - r)} {_num(x)},{_num(y + r * 0.6)}"


def _evidence(frame: Frame, markers: Sequence[EvidenceMarker], unit: str) -> list[str]:
    out = ['<g class="evidence">']
    top, bottom = MARGIN_TOP, frame.height - MARGIN_BOTTOM
    for m in markers:
        x = frame.x(m.year)
        colour = country_colour(m.country) if m.country in COUNTRY_COLOURS else EVIDENCE_COLOUR
        tip = f"<title>{_text(m.text)}</title>"
        kind = _attr(m.kind)
        if m.value is None:
            # A figure with no value on this axis (a forecast crossover year, another unit): a year tick on top.
            out.append(
                f'<g class="evidence-year {kind}" data-evidence={_quoted(m.evidence_id)}>'
                f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{top}" y2="{bottom}" stroke="{EVIDENCE_COLOUR}"/>'
                f'<polygon points="{_triangle(x, top)}" fill="{EVIDENCE_COLOUR}"/>{tip}</g>'
            )
            continue
        y = frame.y(m.value)
        filled = m.kind in ("measured", "estimate")
        fill = colour if filled else "#ffffff"
        out.append(
            f'<polygon class="evidence-point {kind}" data-evidence={_quoted(m.evidence_id)} '
            f'points="{_diamond(x, y)}" fill="{fill}" stroke="{colour}">{tip}</polygon>'
        )
    out.append("</g>")
    return out


def _clipped(frame: Frame, spec: ChartSpec) -> bool:
    return any(p.lo_95 < frame.y_lo or p.hi_95 > frame.y_hi for s in spec.series for p in s.fan)


def _legend(spec: ChartSpec, clipped: bool = False) -> list[str]:
    out = ['<g class="legend">']
    x = MARGIN_LEFT
    char = 6.2  # average advance of the 11px legend font
    for s in spec.series:
        out.append(f'<rect x="{x}" y="10" width="12" height="12" fill="{country_colour(s.country)}"/>')
        out.append(f'<text x="{x + 16}" y="20">{_text(s.name)}</text>')
        x += 26 + char * len(s.name)
    if any(s.fan for s in spec.series):
        note = "shaded: 80% / 95% intervals" + (" (95% clipped)" if clipped else "")
        out.append(f'<text class="legend-note" x="{x:.0f}" y="20">{note}</text>')
        x += 14 + char * len(note)
    if spec.crossover is not None and spec.crossover.lo_80 is not None:
        out.append(f'<rect class="crossover-band" x="{x:.0f}" y="10" width="12" height="12"/>')
        out.append(f'<text x="{x + 16:.0f}" y="20">crossover year (80%)</text>')
    out.append("</g>")
    return out


def fan_chart(spec: ChartSpec, *, width: int = WIDTH, height: int = HEIGHT) -> str:
    """One self-contained <svg>: axes, the crossover band, fans under lines, evidence on top, a legend."""
    title_id = f"{spec.chart_id}-title"
    if not spec.series and not spec.evidence:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="fan-chart empty-chart" viewBox="0 0 {width} 40" '
            f'role="img" aria-labelledby={_quoted(title_id)}><title id={_quoted(title_id)}>{_text(spec.title)}'
            f'</title><text class="empty" x="{MARGIN_LEFT}" y="25">No data stored for this subject yet</text></svg>'
        )
    if not spec.series and all(m.value is None for m in spec.evidence):
        return _timeline(spec, width)
    frame, y_ticks, x_ticks = chart_frame(spec, width, height)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fan-chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby={_quoted(title_id)} data-scale="{"log" if frame.log else "linear"}">',
        f"<title id={_quoted(title_id)}>{_text(spec.title)}</title>",
    ]
    parts += _axes(frame, y_ticks, x_ticks, spec.unit)
    if spec.crossover is not None:
        parts += _crossover(frame, spec.crossover)
    if spec.reference is not None:
        y = frame.y(spec.reference)
        parts.append(
            f'<line class="reference" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{_num(y)}" y2="{_num(y)}">'
            f"<title>{_text(spec.reference_label or format_value(spec.reference, spec.unit))}</title></line>"
        )
    for series in spec.series:
        parts += _series(frame, series, spec.unit)
    if spec.evidence:
        parts += _evidence(frame, spec.evidence, spec.unit)
    parts += _legend(spec, _clipped(frame, spec))
    parts.append("</svg>")
    return "".join(parts)


TIMELINE_HEIGHT = 96


def _timeline(spec: ChartSpec, width: int) -> str:
    """Dated seed claims with no value on any axis (e.g. "by 2025"): a year axis with a tick per claim."""
    years = [m.year for m in spec.evidence]
    x_lo, x_hi = min(years) - 2, max(years) + 2
    frame = Frame(x_lo, x_hi, 0.0, 1.0, False, width, TIMELINE_HEIGHT)
    title_id = f"{spec.chart_id}-title"
    bottom = TIMELINE_HEIGHT - MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fan-chart timeline" viewBox="0 0 {width} {TIMELINE_HEIGHT}" '
        f'role="img" aria-labelledby={_quoted(title_id)} data-scale="none">',
        f"<title id={_quoted(title_id)}>{_text(spec.title)}</title>",
        '<g class="axes">',
        f'<line class="axis" x1="{MARGIN_LEFT}" x2="{width - MARGIN_RIGHT}" y1="{bottom}" y2="{bottom}"/>',
    ]
    for year in year_ticks(x_lo, x_hi):
        x = frame.x(year)
        parts.append(f'<line class="tick-mark" x1="{_num(x)}" x2="{_num(x)}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(f'<text class="tick x" x="{_num(x)}" y="{bottom + 17}" text-anchor="middle">{year}</text>')
    parts.append("</g>")
    parts += _evidence(frame, spec.evidence, spec.unit)
    parts.append(f'<text class="legend-note" x="{MARGIN_LEFT}" y="16">seed claims dated to a year (hover for the quote)'
                 "</text></svg>")  # fmt: skip
    return "".join(parts)
