"""Chart data in, SVG text out: history lines, provisional points, 80%/95% forecast fans with nowcast markers, the
crossover band and seed-evidence markers (the legend that explains them is `aitrack.dashboard.legend`).

Pure functions only (no I/O, no clock): the dashboard pages and the HTML report embed the same SVG, rendered on the
server so the pages need no JavaScript library and no network. Axes come from `aitrack.dashboard.scales`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode
from xml.sax.saxutils import escape, quoteattr

from aitrack.dashboard.scales import Domain, Frame, axis, use_log, value_domain, year_ticks
from aitrack.present.formatting import format_value, unit_label
from contracts.countries import country_name

__all__ = ["COUNTRY_COLOURS", "ChartSpec", "CountrySeries", "CrossoverBand", "EvidenceMarker", "FanPoint",
           "chart_frame", "country_name", "fan_chart", "format_value"]  # fmt: skip

# Okabe–Ito vermillion and blue: distinguishable with the common colour-vision deficiencies and in greyscale.
COUNTRY_COLOURS = {"CHN": "#D55E00", "USA": "#0072B2"}
OTHER_COLOUR = "#4D4D4D"
EVIDENCE_COLOUR = "#222222"
WIDTH, HEIGHT = 960, 340
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 24, 26, 30
EVIDENCE_FILLED = ("measured", "estimate")


def country_colour(country: str | None) -> str:
    return COUNTRY_COLOURS.get(country or "", OTHER_COLOUR)


def country_class(country: str | None) -> str:
    return (country or "other").lower() if country in COUNTRY_COLOURS else "other"


@dataclass(frozen=True)
class FanPoint:
    year: int
    mean: float
    lo_80: float
    hi_80: float
    lo_95: float
    hi_95: float
    nowcast: bool = False  # a past year whose data are not yet published


@dataclass(frozen=True)
class CountrySeries:
    """One country's line: complete years, provisional (partial-year) points, the provider's own projections, and our
    forecast fan."""

    country: str
    history: tuple[tuple[int, float], ...] = ()
    provisional: tuple[tuple[int, float], ...] = ()  # drawn apart from the line and flagged, never modelled
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
    chart_id: str = "chart"
    subject: str | None = None  # with `provenance_href`: each observed point links to its provenance
    provenance_href: str | None = None  # e.g. "/provenance"; None: no links (the offline report)
    width: int = WIDTH
    height: int = HEIGHT
    notes: tuple[str, ...] = field(default_factory=tuple)


# ---------------------------------------------------------------------------------------------- axes
def observed_values(spec: ChartSpec) -> list[float]:
    values: list[float] = []
    for s in spec.series:
        values += [v for _, v in s.history] + [v for _, v in s.provisional] + [p[1] for p in s.projections]
    values += [m.value for m in spec.evidence if m.value is not None]
    return values


def forecast_values(spec: ChartSpec) -> list[float]:
    # The axis follows the 80% bands, never the 95% ones (those are clipped at the axis, and the legend says so).
    return [v for s in spec.series for p in s.fan for v in (p.lo_80, p.mean, p.hi_80)]


def _years(spec: ChartSpec) -> list[int]:
    years: list[int] = []
    for s in spec.series:
        years += [y for y, _ in s.history] + [y for y, _ in s.provisional] + [p[0] for p in s.projections]
        years += [p.year for p in s.fan]
    years += [m.year for m in spec.evidence]
    band = spec.crossover
    if band is not None:
        years += [y for y in (band.lo_80, band.hi_80, band.median) if y is not None]
        if band.lo_80 is not None and band.hi_80 is None and band.horizon is not None:
            years.append(band.horizon)
    return years


def chart_frame(spec: ChartSpec) -> tuple[Frame, list[float], list[int], Domain]:
    """Axes of a spec: log only where the observed values span orders of magnitude; forecasts stretch them so far."""
    observed = observed_values(spec)
    domain = value_domain(observed, forecast_values(spec), unit=spec.unit, log=use_log(observed),
                          reference=spec.reference)  # fmt: skip
    y_lo, y_hi, y_ticks = axis(domain, target=5 if spec.height >= 240 else 3)
    years = _years(spec)
    x_lo, x_hi = (min(years), max(years)) if years else (2000, 2030)
    if x_lo == x_hi:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    frame = Frame(x_lo, x_hi, y_lo, y_hi, domain.log, spec.width, spec.height, MARGIN_LEFT, MARGIN_RIGHT,
                  MARGIN_TOP, MARGIN_BOTTOM)  # fmt: skip
    return frame, y_ticks, year_ticks(int(x_lo), int(x_hi), 10 if spec.width >= 600 else 4), domain


# ---------------------------------------------------------------------------------------------- SVG pieces
# Characters XML 1.0 forbids (control characters, lone surrogates): a quote copied from a PDF can carry them.
_NOT_XML = re.compile("[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")


def _text(text: str) -> str:
    return escape(_NOT_XML.sub("", text))


def _attr(text: str) -> str:
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
    left, right, bottom = frame.left, frame.width - frame.right, frame.height - frame.bottom
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
    scale = " (log scale)" if frame.log else ""
    out.append(f'<text class="axis-label" x="{left}" y="{frame.top - 10}">{_text(unit_label(unit) + scale)}</text>')
    out.append("</g>")
    return out


CROSSOVER_STRIP = 12  # height of the crossover band, drawn as a strip on the year axis so the fans stay readable


def _crossover(frame: Frame, band: CrossoverBand) -> list[str]:
    out: list[str] = []
    top, bottom = frame.top, frame.height - frame.bottom
    if band.lo_80 is not None:
        end = band.hi_80 if band.hi_80 is not None else (band.horizon or band.lo_80)
        x0, x1 = sorted((frame.x(band.lo_80), frame.x(end)))
        if x1 - x0 < 4:
            x0, x1 = x0 - 2, x1 + 2
        hi_text = str(band.hi_80) if band.hi_80 is not None else f"after {band.horizon}"
        title = band.label or f"Crossover year, 80% interval: {band.lo_80}–{hi_text}"
        strip = min(CROSSOVER_STRIP, bottom - top)
        out.append(f'<rect class="crossover-band" x="{_num(x0)}" y="{bottom - strip}" width="{_num(x1 - x0)}" '
                   f'height="{strip}"><title>{_text(title)}</title></rect>')  # fmt: skip
        if band.hi_80 is None and band.horizon is not None:
            out.append(f'<text class="crossover-open" x="{_num(x1 - 3)}" y="{bottom - strip - 4}" text-anchor="end">'
                       f"after {band.horizon}</text>")  # fmt: skip
    if band.median is not None:
        x = frame.x(band.median)
        out.append(f'<line class="crossover-median" x1="{_num(x)}" x2="{_num(x)}" y1="{top}" y2="{bottom}">'
                   f"<title>{_text(f'Median crossover year: {band.median}')}</title></line>")  # fmt: skip
    return out


def _linked(spec: ChartSpec, country: str, year: int, mark: str) -> str:
    """`mark` inside a link to the value's provenance page, when the chart has one."""
    if spec.provenance_href is None or spec.subject is None:
        return mark
    href = f"{spec.provenance_href}?{urlencode({'indicator': spec.subject, 'country': country, 'year': year})}"
    return f'<a class="provenance-link" href="{_attr(href)}">{mark}</a>'


def _point_tip(spec: ChartSpec, series: CountrySeries, year: int, value: float, what: str) -> str:
    where = "click for its provenance" if spec.provenance_href else f"aitrack provenance {spec.subject} {series.country} {year}"
    tip = f"{series.name} {year}: {format_value(value, spec.unit)}{what}" + (f" ({where})" if spec.subject else "")
    return f"<title>{_text(tip)}</title>"


def _square(x: float, y: float, r: float = 3.6) -> str:
    return f'x="{_num(x - r)}" y="{_num(y - r)}" width="{_num(2 * r)}" height="{_num(2 * r)}"'


def _series(frame: Frame, spec: ChartSpec, series: CountrySeries) -> list[str]:
    colour = country_colour(series.country)
    out = [f'<g class="series {_attr(country_class(series.country))}" data-country={_quoted(series.country)}>']
    if series.fan:
        out.append(f'<polygon class="fan-95" fill="{colour}" points="{_band(frame, series.fan, "lo_95", "hi_95")}">'
                   f"<title>{_text(series.name)}: 95% interval</title></polygon>")  # fmt: skip
        out.append(f'<polygon class="fan-80" fill="{colour}" points="{_band(frame, series.fan, "lo_80", "hi_80")}">'
                   f"<title>{_text(series.name)}: 80% interval</title></polygon>")  # fmt: skip
        out.append(f'<polyline class="forecast" stroke="{colour}" '
                   f'points="{_points(frame, [(p.year, p.mean) for p in series.fan])}"/>')  # fmt: skip
        for p in series.fan:
            if p.nowcast:
                x, y = frame.x(p.year), frame.y(p.mean)
                tip = f"{series.name} {p.year}: nowcast {format_value(p.mean, spec.unit)} (a past year not yet published)"
                out.append(f'<rect class="nowcast" {_square(x, y, 4.2)} stroke="{colour}" transform="rotate(45 '
                           f'{_num(x)} {_num(y)})"><title>{_text(tip)}</title></rect>')  # fmt: skip
    for run in _segments(series.history):
        out.append(f'<polyline class="history" stroke="{colour}" points="{_points(frame, run)}"/>')
    for year, value in series.history:
        mark = (f'<circle class="point" cx="{_num(frame.x(year))}" cy="{_num(frame.y(value))}" r="2.8" fill="{colour}">'
                f"{_point_tip(spec, series, year, value, '')}</circle>")  # fmt: skip
        out.append(_linked(spec, series.country, year, mark))
    for year, value in series.provisional:
        mark = (f'<rect class="provisional" {_square(frame.x(year), frame.y(value))} stroke="{colour}">'
                f"{_point_tip(spec, series, year, value, ' — provisional: a partial year, not used in the forecast')}"
                "</rect>")  # fmt: skip
        out.append(_linked(spec, series.country, year, mark))
    for year, value, kind in series.projections:
        tip = f"{series.name} {year}: {format_value(value, spec.unit)} ({kind} stated by the source, not history)"
        out.append(f'<circle class="statement {_attr(kind)}" cx="{_num(frame.x(year))}" cy="{_num(frame.y(value))}" '
                   f'r="3.5" stroke="{colour}"><title>{_text(tip)}</title></circle>')  # fmt: skip
    out.append("</g>")
    return out


def _off_axis_notes(frame: Frame, spec: ChartSpec) -> list[str]:
    """Where a forecast median leaves the axis, say so at the top of the plot, with its value at the last year."""
    out, line = [], 0
    for s in spec.series:
        beyond = [p for p in s.fan if not frame.inside(p.mean)]
        if not beyond:
            continue
        last = s.fan[-1]
        text = (f"{s.name}: forecast median beyond the axis from {beyond[0].year} "
                f"({last.year}: {format_value(last.mean, spec.unit)})")  # fmt: skip
        out.append(f'<text class="off-axis" x="{frame.width - frame.right - 4}" y="{frame.top + 14 + 15 * line}" '
                   f'text-anchor="end" fill="{country_colour(s.country)}">{_text(text)}</text>')  # fmt: skip
        line += 1
    return out


def _diamond(x: float, y: float, r: float = 5.0) -> str:
    return f"{_num(x)},{_num(y - r)} {_num(x + r)},{_num(y)} {_num(x)},{_num(y + r)} {_num(x - r)},{_num(y)}"


def _triangle(x: float, y: float, r: float = 5.5) -> str:
    return f"{_num(x - r)},{_num(y - r)} {_num(x + r)},{_num(y - r)} {_num(x)},{_num(y + r * 0.6)}"


def _evidence(frame: Frame, markers: Sequence[EvidenceMarker]) -> list[str]:
    """Seed figures in one neutral colour (the country is in the tooltip): filled for measured/estimate, hollow for
    targets, pledges, claims and forecasts; a ▼ year tick for a dated claim with no value on this axis."""
    out = ['<g class="evidence">']
    top, bottom = frame.top, frame.height - frame.bottom
    for m in markers:
        x = frame.x(m.year)
        tip = f"<title>{_text(m.text)}</title>"
        kind = _attr(m.kind)
        if m.value is None:
            out.append(f'<g class="evidence-year {kind}" data-evidence={_quoted(m.evidence_id)}>'
                       f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{top}" y2="{bottom}" stroke="{EVIDENCE_COLOUR}"/>'
                       f'<polygon points="{_triangle(x, top)}" fill="{EVIDENCE_COLOUR}"/>{tip}</g>')  # fmt: skip
            continue
        fill = EVIDENCE_COLOUR if m.kind in EVIDENCE_FILLED else "#ffffff"
        out.append(f'<polygon class="evidence-point {kind}" data-evidence={_quoted(m.evidence_id)} '
                   f'points="{_diamond(x, frame.y(m.value))}" fill="{fill}" stroke="{EVIDENCE_COLOUR}">{tip}</polygon>')
    out.append("</g>")
    return out


def fan_chart(spec: ChartSpec) -> str:
    """One self-contained <svg>: axes, the crossover band, fans under lines, evidence on top."""
    title_id = f"{spec.chart_id}-title"
    width, height = spec.width, spec.height
    if not spec.series and not spec.evidence:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" class="fan-chart empty-chart" viewBox="0 0 {width} 40" '
                f'role="img" aria-labelledby={_quoted(title_id)}><title id={_quoted(title_id)}>{_text(spec.title)}'
                f'</title><text class="empty" x="{MARGIN_LEFT}" y="25">No data stored for this subject yet</text></svg>')
    if not spec.series and all(m.value is None for m in spec.evidence):
        return _timeline(spec)
    frame, y_ticks, x_ticks, _ = chart_frame(spec)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fan-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby={_quoted(title_id)} data-scale="{"log" if frame.log else "linear"}" '
        f'data-y-lo="{frame.y_lo:.6g}" data-y-hi="{frame.y_hi:.6g}">',
        f"<title id={_quoted(title_id)}>{_text(spec.title)}</title>",
    ]
    parts += _axes(frame, y_ticks, x_ticks, spec.unit)
    if spec.crossover is not None:
        parts += _crossover(frame, spec.crossover)
    if spec.reference is not None:
        y = frame.y(spec.reference)
        parts.append(f'<line class="reference" x1="{frame.left}" x2="{width - frame.right}" y1="{_num(y)}" '
                     f'y2="{_num(y)}"><title>{_text(spec.reference_label or format_value(spec.reference, spec.unit))}'
                     "</title></line>")  # fmt: skip
    for series in spec.series:
        parts += _series(frame, spec, series)
    parts += _off_axis_notes(frame, spec)
    if spec.evidence:
        parts += _evidence(frame, spec.evidence)
    parts.append("</svg>")
    return "".join(parts)


TIMELINE_HEIGHT = 96


def _timeline(spec: ChartSpec) -> str:
    """Dated seed claims with no value on any axis (e.g. "by 2025"): a year axis with a tick per claim."""
    years = [m.year for m in spec.evidence]
    x_lo, x_hi = min(years) - 2, max(years) + 2
    frame = Frame(x_lo, x_hi, 0.0, 1.0, False, spec.width, TIMELINE_HEIGHT, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP,
                  MARGIN_BOTTOM)  # fmt: skip
    title_id = f"{spec.chart_id}-title"
    bottom = TIMELINE_HEIGHT - MARGIN_BOTTOM
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fan-chart timeline" viewBox="0 0 {spec.width} '
        f'{TIMELINE_HEIGHT}" role="img" aria-labelledby={_quoted(title_id)} data-scale="none">',
        f"<title id={_quoted(title_id)}>{_text(spec.title)}</title>",
        '<g class="axes">',
        f'<line class="axis" x1="{MARGIN_LEFT}" x2="{spec.width - MARGIN_RIGHT}" y1="{bottom}" y2="{bottom}"/>',
    ]
    for year in year_ticks(x_lo, x_hi):
        x = frame.x(year)
        parts.append(f'<line class="tick-mark" x1="{_num(x)}" x2="{_num(x)}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(f'<text class="tick x" x="{_num(x)}" y="{bottom + 17}" text-anchor="middle">{year}</text>')
    parts.append("</g>")
    parts += _evidence(frame, spec.evidence)
    parts.append("</svg>")
    return "".join(parts)
