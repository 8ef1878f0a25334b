"""A chart spec in, the legend items that explain every kind of mark the chart draws out (shown under the chart)."""

from __future__ import annotations

from dataclasses import dataclass

from aitrack.dashboard.charts import EVIDENCE_FILLED, ChartSpec, chart_frame, country_class
from aitrack.dashboard.scales import Frame
from aitrack.present.formatting import format_value


@dataclass(frozen=True)
class LegendItem:
    mark: str  # CSS class of the legend swatch: country-chn, history, provisional, fan, crossover-band …
    label: str


def band_clipped(frame: Frame, spec: ChartSpec) -> bool:
    return any(p.lo_95 < frame.y_lo or p.hi_95 > frame.y_hi for s in spec.series for p in s.fan)


def legend_items(spec: ChartSpec) -> list[LegendItem]:
    """One item per kind of mark the chart draws (shown under it, so every colour and glyph is explained)."""
    if not spec.series and not spec.evidence:
        return []
    frame, _, _, domain = chart_frame(spec)
    items = [LegendItem(f"country-{country_class(s.country)}", s.name) for s in spec.series]
    if any(s.history for s in spec.series):
        items.append(LegendItem("history", "observed (measured or estimate)"))
    if any(s.provisional for s in spec.series):
        items.append(LegendItem("provisional", "provisional: a partial year, not used in the forecast"))
    if any(s.projections for s in spec.series):
        items.append(LegendItem("statement", "the source's own projection, not history"))
    if any(s.fan for s in spec.series):
        items.append(LegendItem("forecast", "forecast median"))
        items.append(LegendItem("fan", "80% and 95% intervals" + (" (clipped at the axis)" if band_clipped(frame, spec)
                                                                  or domain.clipped else "")))  # fmt: skip
    if any(p.nowcast for s in spec.series for p in s.fan):
        items.append(LegendItem("nowcast", "nowcast: a past year not yet published"))
    band = spec.crossover
    if band is not None and band.lo_80 is not None:
        items.append(LegendItem("crossover-band", "crossover year, 80% interval"))
        if band.hi_80 is None and band.horizon is not None:
            items.append(LegendItem("crossover-open", f"“after {band.horizon}”: the interval runs past the horizon"))
    if band is not None and band.median is not None:
        items.append(LegendItem("crossover-median", "median crossover year"))
    if spec.reference is not None:
        items.append(LegendItem("reference", spec.reference_label or format_value(spec.reference, spec.unit)))
    kinds = {m.kind for m in spec.evidence if m.value is not None}
    if kinds & set(EVIDENCE_FILLED):
        items.append(LegendItem("evidence-filled", "seed figure (measured or estimate)"))
    if kinds - set(EVIDENCE_FILLED):
        items.append(LegendItem("evidence-hollow", "seed target, pledge, claim or forecast"))
    if any(m.value is None for m in spec.evidence):
        items.append(LegendItem("evidence-year", "seed claim dated to a year"))
    if spec.subject and spec.provenance_href and any(s.history or s.provisional for s in spec.series):
        items.append(LegendItem("link", "click a point for its provenance"))
    return items
