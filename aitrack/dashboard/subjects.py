"""DashboardData in, one subject's page model out: its chart (history, provisional points, fan, crossover band, seed
evidence), the legend of what is drawn, the crossover in words, the latest values (provisional flagged, each linked to
its provenance), caveats, sources and cited seed evidence. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from markupsafe import Markup

from aitrack.dashboard.charts import (
    ChartSpec, CountrySeries, CrossoverBand, EvidenceMarker, FanPoint, fan_chart,
)  # fmt: skip
from aitrack.dashboard.legend import LegendItem, legend_items
from aitrack.dashboard.data import CHART_COUNTRIES, DashboardData
from aitrack.present.crossovers import CrossoverView, display_headers, display_cells
from aitrack.present.evidence import citation_text
from aitrack.present.formatting import format_value, interval_text, probability_text, year_text
from contracts.kinds import HISTORY_KINDS, OBSERVED_KINDS, PROVISIONAL
from contracts.countries import country_name
from contracts.observations import annual_only
from contracts.pair import DEFAULT_PAIR

LATEST_YEARS = 3  # rows per country in a subject's latest-values table


@dataclass(frozen=True)
class Links:
    """Where a page links to: the served dashboard has subject pages and a provenance page; the report has anchors."""

    subject: str = "/subjects/{subject}"
    overview: str = "/"
    provenance: str | None = "/provenance"

    def subject_href(self, subject: str) -> str:
        return self.subject.format(subject=subject)


SERVED = Links()
REPORT = Links(subject="#subject-{subject}", overview="#overview", provenance=None)


@dataclass
class LatestValue:
    country: str
    year: int
    value: str
    kind: str
    provisional: bool
    source: str
    vintage: str
    href: str | None
    command: str


@dataclass
class SubjectPage:
    subject: str
    kind: str  # indicator | dimension | evidence
    title: str
    category: str
    unit: str
    svg: Markup
    legend: list[LegendItem]
    sentence: str
    crossover_headers: list[str] = field(default_factory=list)
    crossover_cells: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    provenance: list[str] = field(default_factory=list)
    latest: list[LatestValue] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    members: list[tuple[str, float, str | None]] = field(default_factory=list)  # (indicator, weight, href)
    dimensions: list[str] = field(default_factory=list)
    coverage: str = ""

    @property
    def anchor(self) -> str:
        return f"subject-{self.subject}"


def chart_id(subject: str) -> str:
    return "chart-" + re.sub(r"[^A-Za-z0-9_-]", "-", subject)


def category_of(entry: Any) -> str:
    category = getattr(entry, "category", "other")
    return getattr(category, "value", category)


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10] if value else ""


# ---------------------------------------------------------------------------------------------- words
def crossover_sentence(view: CrossoverView | None) -> str:
    """The crossover in one or two sentences, from the presentation's own words and numbers."""
    if view is None:
        return "No crossover estimate stored for this subject."
    if view.status == "insufficient_data":
        reason = f" ({view.notes[0]})" if view.notes else ""
        return f"{view.question} Too little data to estimate a crossover{reason}."
    open_ended = view.has_estimate
    parts = [view.question, f"Status: {view.status_text}."]
    if view.p_after_horizon is not None:
        parts.append(
            f"First passage: median {year_text(view.median_year, view.horizon, open_ended=open_ended)}, 80% interval "
            f"{interval_text(view.lo_80, view.hi_80, view.horizon, open_ended=open_ended)}, 95% interval "
            f"{interval_text(view.lo_95, view.hi_95, view.horizon, open_ended=open_ended)}; probability by 2030 "
            f"{probability_text(view.p_by_2030)}, by 2035 {probability_text(view.p_by_2035)}, by {view.horizon} "
            f"{probability_text(view.p_by_horizon)}."
        )  # fmt: skip
    return " ".join(parts)


def band_of(view: CrossoverView | None) -> CrossoverBand | None:
    """The 80% band of the first-passage year whenever the run gives one (also a projected passing back)."""
    if view is None or not view.has_estimate or (view.lo_80 is None and view.median_year is None):
        return None
    label = (f"Crossover year ({view.question}): median {year_text(view.median_year, view.horizon, open_ended=True)}, "
             f"80% interval {interval_text(view.lo_80, view.hi_80, view.horizon, open_ended=True)}")  # fmt: skip
    return CrossoverBand(view.lo_80, view.hi_80, view.median_year, view.horizon, label)


# ---------------------------------------------------------------------------------------------- evidence
def evidence_year(row: dict[str, Any]) -> int | None:
    year = row.get("period_end") if row.get("period_end") is not None else row.get("period_start")
    return int(year) if year is not None else None


def evidence_text(row: dict[str, Any]) -> str:
    value = row.get("value")
    amount = f" ({format_value(value)} {row.get('unit')})" if value is not None else ""
    return f"{row['evidence_id']} · seed {citation_text(row)} · {row['value_kind']}{amount}: “{row['quote']}”"


def evidence_markers(rows: Iterable[dict[str, Any]], *, unit: str) -> tuple[EvidenceMarker, ...]:
    """Seed figures with a year become markers: at their value when the unit matches the chart, else a year tick.
    A figure whose unit is `year` is a dated claim about the crossing itself (AI2's "by 2020"), drawn at that year."""
    markers = []
    for row in rows:
        value, year = row.get("value"), evidence_year(row)
        if row.get("unit") == "year" and value is not None:
            year, value = int(value), None
        elif row.get("unit") != unit:
            value = None
        if year is None:
            continue
        markers.append(EvidenceMarker(row["evidence_id"], year, value, row.get("country"), row["value_kind"],
                                      evidence_text(row)))  # fmt: skip
    return tuple(markers)


# ---------------------------------------------------------------------------------------------- series
def fan_points(rows: Iterable[dict[str, Any]]) -> tuple[FanPoint, ...]:
    return tuple(FanPoint(int(r["year"]), r["mean"], r["lo_80"], r["hi_80"], r["lo_95"], r["hi_95"],
                          bool(r.get("nowcast"))) for r in sorted(rows, key=lambda r: r["year"]))  # fmt: skip


def anchored_fan(history: Sequence[tuple[int, float]], fan: tuple[FanPoint, ...]) -> tuple[FanPoint, ...]:
    """Start the fan at the last observation when the forecast begins the year after it, so no gap is drawn."""
    if not history or not fan:
        return fan
    year, value = max(history)
    if fan[0].year != year + 1:
        return fan
    return (FanPoint(year, value, value, value, value, value),) + fan


def pick_model(rows: list[dict[str, Any]], preferred: str | None) -> list[dict[str, Any]]:
    """One model per subject and country: the crossover's model if it forecast this series, else the fullest."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    if not by_model:
        return []
    return by_model[preferred] if preferred in by_model else max(by_model.values(), key=len)


def country_series(country: str, observed: list[dict[str, Any]], forecasts: list[dict[str, Any]],
                   model: str | None) -> CountrySeries:  # fmt: skip
    annual = [r for r in observed if r["year_start"] == r["year"]]
    history = tuple((int(r["year"]), r["value"]) for r in annual if r["value_kind"] in HISTORY_KINDS)
    provisional = tuple((int(r["year"]), r["value"]) for r in annual if r["value_kind"] == PROVISIONAL)
    projections = tuple((int(r["year"]), r["value"], r["value_kind"]) for r in annual
                        if r["value_kind"] not in OBSERVED_KINDS)  # fmt: skip
    fan = anchored_fan(history, fan_points(pick_model(forecasts, model)))
    return CountrySeries(country, history=history, provisional=provisional, projections=projections, fan=fan)


def latest_values(subject: str, observed: pl.DataFrame, links: Links,
                  countries: tuple[str, ...] = CHART_COUNTRIES) -> list[LatestValue]:  # fmt: skip
    """The last observed years per country (provisional ones flagged), each with its provenance link and command."""
    from urllib.parse import urlencode

    rows = []
    frame = annual_only(observed).filter(pl.col("value_kind").is_in(OBSERVED_KINDS))
    for country in countries:
        own = frame.filter(pl.col("country") == country).sort("year", descending=True).head(LATEST_YEARS)
        for r in own.iter_rows(named=True):
            query = urlencode({"indicator": subject, "country": country, "year": r["year"]})
            rows.append(LatestValue(
                country=country, year=r["year"], value=format_value(r["value"], r["unit"]), kind=r["value_kind"],
                provisional=r["value_kind"] == PROVISIONAL, source=r["source"], vintage=str(r["vintage"]),
                href=f"{links.provenance}?{query}" if links.provenance else None,
                command=f"aitrack provenance {subject} {country} {r['year']}",
            ))  # fmt: skip
    return rows


def source_lines(observed: pl.DataFrame, sources: dict[str, dict[str, Any]]) -> list[str]:
    """One line per source: its series (the first, and how many more), newest vintage, retrieval date and licence."""
    lines = []
    for source in sorted(set(observed["source"].to_list())):
        rows = observed.filter(pl.col("source") == source)
        licence = sources.get(source, {}).get("licence") or "licence not recorded"
        series = sorted(set(rows["source_series"].cast(pl.String).to_list()))
        named = series[0] + (f" and {len(series) - 1} more series" if len(series) > 1 else "")
        retrieved = _date(rows["retrieved_at"].max())
        lines.append(f"Source: {source} · {named} · vintage {rows['vintage'].cast(pl.String).max()} · retrieved "
                     f"{retrieved} · {licence}")  # fmt: skip
    return lines


def forecast_lines(rows: list[dict[str, Any]]) -> list[str]:
    runs = sorted({(r["run_id"], _date(r.get("created_at")), r["model"]) for r in rows})
    return [f"Forecast: run {run} ({created}), model {model}" for run, created, model in runs]


# ---------------------------------------------------------------------------------------------- pages
def crossover_row(view: CrossoverView | None, common_horizon: bool) -> tuple[list[str], list[str]]:
    if view is None:
        return [], []
    return display_headers([view]), display_cells(view, common_horizon=common_horizon)


def indicator_page(entry: Any, data: DashboardData, view: CrossoverView | None, links: Links, *,
                   common_horizon: bool = True) -> SubjectPage:  # fmt: skip
    observed = data.observations.filter(pl.col("indicator") == entry.id)
    forecasts = data.forecasts.filter(pl.col("subject") == entry.id).to_dicts()
    evidence = data.evidence.filter(pl.col("indicator") == entry.id).to_dicts()
    model = view.model if view else None
    series = []
    for country in data.chart_countries:
        own = observed.filter(pl.col("country") == country).sort("year").to_dicts()
        fc = [r for r in forecasts if r["country"] == country]
        if own or fc:
            series.append(country_series(country, own, fc, model))
    spec = ChartSpec(title=entry.name, unit=entry.unit, series=tuple(series), crossover=band_of(view),
                     evidence=evidence_markers(evidence, unit=entry.unit), chart_id=chart_id(entry.id),
                     subject=entry.id, provenance_href=links.provenance)  # fmt: skip
    headers, cells = crossover_row(view, common_horizon)
    sources = {s["source"]: s for s in data.sources}
    return SubjectPage(
        subject=entry.id, kind="indicator", title=entry.name, category=category_of(entry), unit=entry.unit,
        svg=Markup(fan_chart(spec)), legend=legend_items(spec), sentence=crossover_sentence(view),
        crossover_headers=headers, crossover_cells=cells, caveats=list(entry.caveats),
        provenance=source_lines(observed, sources) + forecast_lines(forecasts),
        latest=latest_values(entry.id, observed, links, data.chart_countries), evidence=evidence, dimensions=sorted(entry.dimensions),
    )  # fmt: skip


def evidence_page(entry: Any, data: DashboardData, links: Links) -> SubjectPage:
    """An indicator with no series (AIDP targets, firm counts): the seed figures alone, in their most common unit."""
    evidence = data.evidence.filter(pl.col("indicator") == entry.id).to_dicts()
    dated = [r for r in evidence if evidence_year(r) is not None and r.get("value") is not None and r["unit"] != "year"]
    units = sorted({r["unit"] for r in dated}, key=lambda u: (-sum(r["unit"] == u for r in dated), u))
    unit = units[0] if units else entry.unit
    spec = ChartSpec(title=entry.name, unit=unit, evidence=evidence_markers(evidence, unit=unit),
                     chart_id=chart_id(entry.id))  # fmt: skip
    return SubjectPage(
        subject=entry.id, kind="evidence", title=entry.name, category=category_of(entry), unit=unit,
        svg=Markup(fan_chart(spec)), legend=legend_items(spec),
        sentence="No data series: only the seed documents' figures, so no forecast or crossover.",
        caveats=list(entry.caveats), evidence=evidence, dimensions=sorted(entry.dimensions),
    )  # fmt: skip


def dimension_coverage(rows: list[dict[str, Any]], pair: tuple[str, str] = DEFAULT_PAIR) -> str:
    if not rows:
        return "No dimension scores stored yet."
    scored = [r for r in rows if r["status"] == "ok" and r["score"] is not None]
    last = max(rows, key=lambda r: r["year"])
    if not scored:
        return (f"Insufficient data in every year; latest year {last['year']}: {last['n_present']} of "
                f"{last['n_indicators']} indicators ({last['weight_present']:.0%} of the weight).")  # fmt: skip
    latest = max(scored, key=lambda r: r["year"])
    nowcast = f", of which {latest['weight_nowcast']:.0%} nowcast" if latest.get("weight_nowcast") else ""
    return (f"Latest scored year {latest['year']}: score {latest['score']:.3f} ({country_name(pair[0])}'s pair share; 0.5 = parity), "
            f"{latest['n_present']} of {latest['n_indicators']} indicators present "
            f"({latest['weight_present']:.0%} of the weight{nowcast}).")  # fmt: skip


def dimension_spec(name: str, rows: list[dict[str, Any]], forecasts: list[dict[str, Any]], view: CrossoverView | None,
                   *, width: int | None = None, height: int | None = None,
                   pair: tuple[str, str] = DEFAULT_PAIR) -> ChartSpec:  # fmt: skip
    scored = sorted((r for r in rows if r["status"] == "ok" and r["score"] is not None), key=lambda r: r["year"])
    band_rows = [FanPoint(r["year"], r["score"], r["lo_80"], r["hi_80"], r["lo_95"], r["hi_95"])
                 for r in scored if None not in (r["lo_80"], r["hi_80"], r["lo_95"], r["hi_95"])]  # fmt: skip
    fan_rows = pick_model([r for r in forecasts if r["country"] == pair[0]], view.model if view else None)
    series: tuple[CountrySeries, ...] = ()
    if scored or fan_rows:
        history = [(r["year"], r["score"]) for r in scored]
        series = (CountrySeries(pair[0], history=tuple(history), fan=anchored_fan(history, tuple(band_rows)
                                + fan_points(fan_rows)), label=f"{country_name(pair[0])}'s share of the pair"),)  # fmt: skip
    sizes = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    return ChartSpec(title=f"Dimension: {name}", unit="share", series=series, crossover=band_of(view), reference=0.5,
                     reference_label="parity (0.5)", chart_id=chart_id(name + ("-card" if sizes else "")), **sizes)


def dimension_page(name: str, spec: Any, data: DashboardData, catalog: Any, view: CrossoverView | None, links: Links,
                   *, pages: set[str] | frozenset[str] = frozenset(), common_horizon: bool = True) -> SubjectPage:  # fmt: skip
    rows = data.dimensions.filter(pl.col("dimension") == name).to_dicts()
    forecasts = data.forecasts.filter(pl.col("subject") == name).to_dicts()
    chart = dimension_spec(name, rows, forecasts, view, pair=data.pair)
    caveats = [spec.description] if spec is not None else []
    if spec is not None and spec.gaps:
        caveats.append("Cited by the seed but not scored (no pair series): " + ", ".join(spec.gaps) + ".")
    if any(r["lo_80"] is not None for r in rows):
        caveats.append("Shaded history band: uncertainty over the indicator weights (Dirichlet draws), not sampling error.")
    builds = sorted({(r["build_id"], _date(r["computed_at"])) for r in rows})
    members = [(i, w, links.subject_href(i) if i in pages else None)
               for i, w in catalog.dimension_weights(name).items()]  # fmt: skip
    headers, cells = crossover_row(view, common_horizon)
    return SubjectPage(
        subject=name, kind="dimension", title=f"Dimension: {name}", category="dimension", unit="share",
        svg=Markup(fan_chart(chart)), legend=legend_items(chart), sentence=crossover_sentence(view),
        crossover_headers=headers, crossover_cells=cells, caveats=caveats,
        provenance=[f"Build {b} ({d})" for b, d in builds] + forecast_lines(forecasts),
        coverage=dimension_coverage(rows, data.pair), members=members,
    )  # fmt: skip
