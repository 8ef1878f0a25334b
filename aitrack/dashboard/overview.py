"""DashboardData in, the overview's model out: the header (data years, the run and its date), the four dimension cards,
the crossover table (one line per subject, the presentation's cells, sort keys and filter attributes), and the
subjects without data in one line; plus which subjects have a page. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from markupsafe import Markup

from aitrack.dashboard.charts import fan_chart
from aitrack.dashboard.data import DashboardData
from aitrack.dashboard.subjects import (
    Links, SubjectPage, category_of, dimension_coverage, dimension_page, dimension_spec, evidence_page,
    evidence_year, indicator_page,
)  # fmt: skip
from aitrack.present.crossovers import CrossoverView, display_table
from contracts.kinds import OBSERVED_KINDS, PROVISIONAL
from contracts.observations import annual_only

CATEGORY_ORDER = ("dimension", "research", "patents", "rd", "talent", "financing", "compute", "economy", "influence",
                  "legitimacy", "values", "other", "user")  # fmt: skip


@dataclass
class Header:
    first_year: int | None
    last_year: int | None  # last complete (non-provisional) observed year
    provisional_years: list[int]
    newest_vintage: str | None
    run: dict[str, Any] | None
    generated_at: str | None = None
    pair: tuple[str, str] = ("CHN", "USA")  # the pages' pair (aitrack.dashboard.data.DashboardData.pair)

    @property
    def data_years(self) -> str:
        if self.first_year is None:
            return "no data yet"
        text = f"{self.first_year}–{self.last_year}"
        if self.provisional_years:
            text += " (provisional: " + ", ".join(str(y) for y in self.provisional_years) + ")"
        return text

    @property
    def run_date(self) -> str:
        created = (self.run or {}).get("created_at")
        return created.strftime("%Y-%m-%d") if isinstance(created, datetime) else str(created or "")[:10]


@dataclass
class OverviewRow:
    view: CrossoverView
    cells: list[str]
    sort_keys: list[str]
    href: str | None
    category: str
    dimensions: list[str]


@dataclass
class DimensionCard:
    name: str
    year: int | None
    score: float | None
    leader: str | None
    status: str
    coverage: str
    svg: Markup
    href: str
    gaps: list[str]


@dataclass
class Overview:
    header: Header
    dimensions: list[DimensionCard]
    headers: list[str]
    rows: list[OverviewRow]
    empty_subjects: list[tuple[str, str]]  # (id, name) of catalogued subjects with nothing stored
    categories: list[str]
    dimension_names: list[str]
    statuses: list[tuple[str, str]]  # (status, its words) present in the table
    empty: bool = False
    subjects: list[SubjectPage] = field(default_factory=list)  # filled for the report (every page inline)


def header_of(data: DashboardData, generated_at: datetime | None = None) -> Header:
    pair = annual_only(data.observations).filter(pl.col("country").is_in(list(data.pair)),
                                                 pl.col("value_kind").is_in(OBSERVED_KINDS))  # fmt: skip
    complete = pair.filter(pl.col("value_kind") != PROVISIONAL)
    provisional = sorted(set(pair.filter(pl.col("value_kind") == PROVISIONAL)["year"].to_list()))
    last = complete["year"].max() if complete.height else None
    official = [r for r in data.runs if r.get("kind") == "official"]
    vintages = data.observations["vintage"].cast(pl.String).str.slice(0, 10)
    return Header(
        first_year=complete["year"].min() if complete.height else None, last_year=last,  # type: ignore[arg-type]
        provisional_years=[y for y in provisional if last is None or y > last], newest_vintage=vintages.max(),
        run=official[0] if official else None,
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC") if generated_at else None, pair=data.pair,
    )  # fmt: skip


def _sort_key(view: CrossoverView, header: str, cell: str) -> str:
    """A value the table script sorts on: numbers for years and probabilities (an open bound after the horizon sorts
    last), the text otherwise."""
    numeric = {"Median": view.median_year, "80% interval": view.lo_80, "95% interval": view.lo_95,
               "Data end": view.data_end_year, "P(by 2030)": view.p_by_2030, "P(by 2035)": view.p_by_2035}  # fmt: skip
    if header.startswith("P(by") and header not in numeric:
        numeric[header] = view.p_by_horizon
    if header in numeric:
        value = numeric[header]
        if value is None:
            return "" if cell == "–" else "9999"
        return f"{value:.6f}" if isinstance(value, float) else str(value)
    return cell.lower()


def has_data(subject: str, data: DashboardData) -> bool:
    return bool(data.observations.filter(pl.col("indicator") == subject).height
                or data.forecasts.filter(pl.col("subject") == subject).height)  # fmt: skip


def has_dated_evidence(subject: str, data: DashboardData) -> bool:
    rows = data.evidence.filter(pl.col("indicator") == subject).to_dicts()
    return any(evidence_year(r) is not None for r in rows)


def page_subjects(data: DashboardData, catalog: Any) -> list[str]:
    """Subjects with a page, in the order of the navigation: dimensions, then indicators by category."""
    out = list(catalog.dimensions)
    entries = sorted(catalog, key=lambda e: (_rank(category_of(e)), e.id))
    for entry in entries:
        if has_data(entry.id, data) or has_dated_evidence(entry.id, data):
            out.append(entry.id)
    return out


def _rank(category: str) -> int:
    return CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)


def subject_page(subject: str, data: DashboardData, catalog: Any, links: Links) -> SubjectPage | None:
    views = {v.subject: v for v in data.crossovers}
    common = len({v.horizon for v in data.crossovers if v.horizon is not None}) <= 1
    if subject in catalog.dimensions:
        return dimension_page(subject, catalog.dimensions[subject], data, catalog, views.get(subject), links,
                              pages=set(page_subjects(data, catalog)), common_horizon=common)  # fmt: skip
    if subject not in catalog or not (has_data(subject, data) or has_dated_evidence(subject, data)):
        return None
    entry = catalog.get(subject)
    if entry.evidence_only or not has_data(subject, data):
        return evidence_page(entry, data, links)
    return indicator_page(entry, data, views.get(subject), links, common_horizon=common)


def dimension_cards(data: DashboardData, catalog: Any, links: Links) -> list[DimensionCard]:
    views = {v.subject: v for v in data.crossovers}
    cards = []
    for name, spec in catalog.dimensions.items():
        rows = data.dimensions.filter(pl.col("dimension") == name).to_dicts()
        scored = [r for r in rows if r["status"] == "ok" and r["score"] is not None]
        latest = max(scored or rows, key=lambda r: r["year"]) if rows else None
        forecasts = data.forecasts.filter(pl.col("subject") == name).to_dicts()
        chart = dimension_spec(name, rows, forecasts, views.get(name), width=420, height=190, pair=data.pair)
        cards.append(DimensionCard(
            name=name, year=latest["year"] if latest else None, score=latest["score"] if latest else None,
            leader=latest["leader"] if latest else None, status=latest["status"] if latest else "no scores",
            coverage=dimension_coverage(rows, data.pair), svg=Markup(fan_chart(chart)), href=links.subject_href(name),
            gaps=list(spec.gaps),
        ))  # fmt: skip
    return cards


def build_overview(data: DashboardData, catalog: Any, links: Links, *, generated_at: datetime | None = None,
                   with_subjects: bool = False) -> Overview:  # fmt: skip
    """The overview page (and, for the report, every subject page inline)."""
    pages = set(page_subjects(data, catalog))
    headers, cells = display_table(data.crossovers)
    rows = []
    for view, row in zip(data.crossovers, cells):
        entry = catalog.entries.get(view.subject)
        rows.append(OverviewRow(
            view=view, cells=row, sort_keys=[_sort_key(view, h, c) for h, c in zip(headers, row)],
            href=links.subject_href(view.subject) if view.subject in pages else None,
            category="dimension" if view.subject_kind == "dimension" else (category_of(entry) if entry else "user"),
            dimensions=[view.subject] if view.subject_kind == "dimension" else sorted(entry.dimensions if entry else ()),
        ))  # fmt: skip
    empty = [(e.id, e.name) for e in sorted(catalog, key=lambda e: e.id) if e.id not in pages]
    categories = sorted({r.category for r in rows}, key=_rank)
    statuses = {r.view.status: r.view.status_text for r in rows}
    overview = Overview(
        header=header_of(data, generated_at), dimensions=dimension_cards(data, catalog, links), headers=headers,
        rows=rows, empty_subjects=empty, categories=categories, dimension_names=list(catalog.dimensions),
        statuses=sorted(statuses.items()), empty=data.empty,
    )  # fmt: skip
    if with_subjects:
        overview.subjects = [p for s in page_subjects(data, catalog) if (p := subject_page(s, data, catalog, links))]
    return overview
