"""Repository reads in, the dashboard page and the self-contained report out (one set of templates, server-side SVG).

`load_dashboard_data` is the only function here that touches the database; everything after it is pure, so the
page and the report are the same function of the same rows.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from aitrack.dashboard.charts import (
    COUNTRY_COLOURS,
    ChartSpec,
    CountrySeries,
    CrossoverBand,
    EvidenceMarker,
    FanPoint,
    country_name,
    fan_chart,
    format_value,
)
from contracts.kinds import OBSERVED_KINDS

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
CHART_COUNTRIES = ("CHN", "USA", "XUC")
CATEGORY_ORDER = (
    "research", "patents", "rd", "talent", "financing", "compute", "economy", "influence", "legitimacy", "values",
    "other",
)  # fmt: skip
UNIT_LABELS = {
    "count": "count", "people": "people", "usd": "current US$", "usd_ppp": "current international $ (PPP)",
    "usd_const": "constant US$", "usd_million": "US$ million", "usd_ppp_million": "PPP US$ million",
    "per_million": "per million people", "pct": "%", "pct_gdp": "% of GDP", "share": "share (0–1)",
    "score": "score", "bn_cny": "billion yuan", "bn_usd": "US$ billion",
}  # fmt: skip
STATUS_LABELS = {
    "already_crossed": "already crossed",
    "projected": "crossing projected",
    "not_within_horizon": "not within horizon",
    "insufficient_data": "insufficient data",
}
PAGE_SIZE = 10_000


@dataclass(frozen=True)
class DashboardData:
    """Every row the page shows, as read from the database's views."""

    observations: list[dict[str, Any]]
    forecasts: list[dict[str, Any]]
    crossovers: list[dict[str, Any]]
    dimensions: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    runs: list[dict[str, Any]]


def load_dashboard_data(reader: Any) -> DashboardData:
    """The I/O edge: read the views through the Reader (read-only)."""
    return DashboardData(
        observations=reader.latest_observations(countries=list(CHART_COUNTRIES), kinds=None).to_dicts(),
        forecasts=reader.forecasts()[0].to_dicts(),
        crossovers=[cx.as_dict() for cx in reader.crossovers()],
        dimensions=reader.dimension_scores()[0].to_dicts(),
        evidence=reader.evidence()[0].to_dicts(),
        indicators=reader.indicators().to_dicts(),
        sources=reader.sources(),
        runs=reader.forecast_runs(),
    )


# ---------------------------------------------------------------------------------------------- view model
@dataclass
class SubjectView:
    subject: str
    kind: str  # indicator | dimension | evidence
    title: str
    category: str
    unit: str
    svg: Markup
    caveats: list[str]
    provenance: list[str]
    crossover: dict[str, Any] | None
    crossover_text: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    coverage: str = ""

    @property
    def anchor(self) -> str:
        return f"subject-{self.subject}"


@dataclass
class PageView:
    subjects: list[SubjectView]
    crossovers: list[dict[str, Any]]
    dimensions: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    data_as_of: str | None
    latest_run: dict[str, Any] | None
    models: list[str]
    categories: list[str]
    generated_at: str | None = None
    empty: bool = False


def unit_label(unit: str) -> str:
    return UNIT_LABELS.get(unit, unit.replace("_", " "))


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10] if value else ""


def interval_text(lo: int | None, hi: int | None, horizon: int | None) -> str:
    if lo is None and hi is None:
        return "–"
    left = str(lo) if lo is not None else f"after {horizon}"
    right = str(hi) if hi is not None else f"after {horizon}"
    return left if left == right else f"{left}–{right}"


def crossover_sentence(row: dict[str, Any] | None, *, dimension: bool = False) -> str:
    """One plain sentence for a crossover row (DESIGN §3 statuses); dimensions compare China's share with parity."""
    if row is None:
        return "No crossover estimate stored for this subject."
    status = row.get("status")
    if status == "insufficient_data":
        return "Too little data to estimate a crossover."
    challenger, rival = (row.get("pair") or "CHN-USA").split("-", 1)
    leader = row.get("leader_now") or rival
    trailing = rival if leader == challenger else challenger
    leader_name, trailing_name = country_name(leader), country_name(trailing)
    horizon = row.get("horizon")
    p_after = row.get("p_after_horizon")
    p_by = f"{1 - p_after:.0%}" if isinstance(p_after, (int, float)) and math.isfinite(p_after) else "?"
    if dimension:
        leader_name = "China" if leader == challenger else "the United States"
    if status == "already_crossed":
        since = f" since {row['last_crossing_year']}" if row.get("last_crossing_year") else ""
        text = f"{leader_name} leads{since}: the crossing has already happened. "
        if row.get("median_year") is not None:
            return text + (
                f"{trailing_name} is projected to pass back: median year {row['median_year']}, 80% interval "
                f"{interval_text(row.get('lo_80'), row.get('hi_80'), horizon)}; probability by {horizon}: {p_by}."
            )
        return text + f"Chance that {trailing_name} passes back by {horizon}: {p_by}."
    if status == "projected":
        return (
            f"{trailing_name} is projected to pass {leader_name}: median year {row.get('median_year')}, "
            f"80% interval {interval_text(row.get('lo_80'), row.get('hi_80'), horizon)}, "
            f"95% interval {interval_text(row.get('lo_95'), row.get('hi_95'), horizon)}; "
            f"probability by {horizon}: {p_by}."
        )
    if status == "not_within_horizon":
        return f"{trailing_name} is not projected to pass {leader_name} by {horizon} (probability {p_by})."
    return f"Status: {status}."


def _evidence_year(row: dict[str, Any]) -> int | None:
    year = row.get("period_end") if row.get("period_end") is not None else row.get("period_start")
    return int(year) if year is not None else None


def _evidence_text(row: dict[str, Any]) -> str:
    value = row.get("value")
    amount = f" ({format_value(value)} {row.get('unit')})" if value is not None else ""
    return (f"{row['evidence_id']} · seed {row['document']} line {row['line']} · {row['value_kind']}{amount}: "
            f"“{row['quote']}”")  # fmt: skip


def evidence_markers(rows: Iterable[dict[str, Any]], *, unit: str) -> tuple[EvidenceMarker, ...]:
    """Seed figures with a year become markers: at their value when the unit matches the chart, else a year tick.

    A figure whose unit is `year` is a dated claim about the crossing itself (AI2's "by 2020"), drawn at that year.
    Figures for a third party (the EU, the world) keep their value and are drawn in grey.
    """
    markers = []
    for row in rows:
        value, year = row.get("value"), _evidence_year(row)
        if row.get("unit") == "year" and value is not None:
            year, value = int(value), None
        elif row.get("unit") != unit:
            value = None
        if year is None:
            continue
        markers.append(
            EvidenceMarker(row["evidence_id"], year, value, row.get("country"), row["value_kind"], _evidence_text(row))
        )
    return tuple(markers)


def _fan(rows: Iterable[dict[str, Any]]) -> tuple[FanPoint, ...]:
    return tuple(
        FanPoint(int(r["year"]), r["mean"], r["lo_80"], r["hi_80"], r["lo_95"], r["hi_95"])
        for r in sorted(rows, key=lambda r: r["year"])
    )


def anchored_fan(history: Sequence[tuple[int, float]], fan: tuple[FanPoint, ...]) -> tuple[FanPoint, ...]:
    """Start the fan at the last observation when the forecast begins the year after it, so no gap is drawn."""
    if not history or not fan:
        return fan
    year, value = max(history)
    if fan[0].year != year + 1:
        return fan
    return (FanPoint(year, value, value, value, value, value),) + fan


def _group(rows: Iterable[dict[str, Any]], column: str) -> dict[str, list[dict[str, Any]]]:
    """Rows by the value of one column, each group in the rows' order."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r[column]].append(r)
    return groups


def _pick_model(rows: list[dict[str, Any]], preferred: str | None) -> list[dict[str, Any]]:
    """One model per subject and country: the crossover's model if it forecast this series, else the fullest."""
    by_model = _group(rows, "model")
    if not by_model:
        return []
    if preferred in by_model:
        return by_model[preferred]
    return max(by_model.values(), key=len)


def _band(row: dict[str, Any] | None) -> CrossoverBand | None:
    """The 80% band of the first-passage year whenever the run gives one (also a projected passing back)."""
    if row is None or row.get("status") == "insufficient_data":
        return None
    if row.get("lo_80") is None and row.get("median_year") is None:
        return None
    label = (f"Crossover year: median {row.get('median_year') or 'after ' + str(row.get('horizon'))}, "
             f"80% interval {interval_text(row.get('lo_80'), row.get('hi_80'), row.get('horizon'))}")  # fmt: skip
    return CrossoverBand(row.get("lo_80"), row.get("hi_80"), row.get("median_year"), row.get("horizon"), label)


def _use_log(scale: str | None, values: Sequence[float]) -> bool:
    positive = [v for v in values if v > 0]
    return scale == "log" and len(positive) == len(values) and bool(values) and max(values) / min(values) > 20


def _provenance(observations: list[dict[str, Any]], sources: dict[str, dict[str, Any]]) -> list[str]:
    """One line per source: its series (the first, and how many more), newest vintage, retrieval date and licence."""
    groups = _group(observations, "source")
    lines = []
    for source, rows in sorted(groups.items()):
        licence = sources.get(source, {}).get("licence") or "licence not recorded"
        series = sorted({str(r["source_series"]) for r in rows})
        named = series[0] + (f" and {len(series) - 1} more series" if len(series) > 1 else "")
        vintage = max(str(r["vintage"]) for r in rows)
        retrieved = max(_date(r["retrieved_at"]) for r in rows)
        lines.append(f"Source: {source} · {named} · vintage {vintage} · retrieved {retrieved} · {licence}")
    return lines


def _forecast_provenance(rows: list[dict[str, Any]]) -> list[str]:
    runs = sorted({(r["run_id"], _date(r.get("created_at")), r["model"]) for r in rows})
    return [f"Forecast: run {run} ({created}), model {model}" for run, created, model in runs]


def _chart_id(subject: str) -> str:
    return "chart-" + re.sub(r"[^A-Za-z0-9_-]", "-", subject)


def indicator_subject(
    entry: Any, data: DashboardData, crossovers: dict[str, dict[str, Any]], sources: dict[str, dict[str, Any]],
    observations: list[dict[str, Any]], forecasts: list[dict[str, Any]], evidence: list[dict[str, Any]],
) -> SubjectView:  # fmt: skip
    cx = crossovers.get(entry.id)
    countries = [c for c in CHART_COUNTRIES if any(r["country"] == c for r in observations + forecasts)]
    series = []
    for country in countries:
        own = [r for r in observations if r["country"] == country]
        fan_rows = _pick_model([r for r in forecasts if r["country"] == country], cx.get("model") if cx else None)
        history = tuple((int(r["year"]), r["value"]) for r in own if r["value_kind"] in OBSERVED_KINDS)
        series.append(
            CountrySeries(
                country,
                history=history,
                projections=tuple(
                    (int(r["year"]), r["value"], r["value_kind"]) for r in own if r["value_kind"] not in OBSERVED_KINDS
                ),
                fan=anchored_fan(history, _fan(fan_rows)),
            )
        )
    values = [h[1] for s in series for h in s.history] + [v for s in series for p in s.fan for v in (p.lo_80, p.hi_80)]
    markers = evidence_markers(evidence, unit=entry.unit)
    values += [m.value for m in markers if m.value is not None]
    spec = ChartSpec(
        title=entry.name, unit=entry.unit, series=tuple(series), crossover=_band(cx), evidence=markers,
        log_scale=_use_log(entry.forecast_scale, values), chart_id=_chart_id(entry.id),
    )  # fmt: skip
    return SubjectView(
        subject=entry.id, kind="indicator", title=entry.name, category=_category(entry), unit=entry.unit,
        svg=Markup(fan_chart(spec)), caveats=list(entry.caveats),
        provenance=_provenance(observations, sources) + _forecast_provenance(forecasts),
        crossover=cx, crossover_text=crossover_sentence(cx), evidence=evidence,
    )  # fmt: skip


def evidence_subject(entry: Any, evidence: list[dict[str, Any]]) -> SubjectView:
    """An indicator with no series (AIDP targets, firm counts): the seed figures alone, in their most common unit."""
    dated = [
        r for r in evidence if _evidence_year(r) is not None and r.get("value") is not None and r["unit"] != "year"
    ]
    units = sorted({r["unit"] for r in dated}, key=lambda u: (-sum(r["unit"] == u for r in dated), u))
    unit = units[0] if units else entry.unit
    markers = evidence_markers(evidence, unit=unit)
    spec = ChartSpec(title=entry.name, unit=unit, evidence=markers, chart_id=_chart_id(entry.id))
    return SubjectView(
        subject=entry.id, kind="evidence", title=entry.name, category=_category(entry), unit=unit,
        svg=Markup(fan_chart(spec)),
        caveats=list(entry.caveats) + ["No data series: only the seed documents' figures."],
        provenance=[], crossover=None, crossover_text="No series, so no forecast or crossover.", evidence=evidence,
    )  # fmt: skip


def _dimension_coverage(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No dimension scores stored yet."
    scored = [r for r in rows if r["status"] == "ok" and r["score"] is not None]
    last = max(rows, key=lambda r: r["year"])
    if not scored:
        return (f"Insufficient data in every year; latest year {last['year']}: {last['n_present']} of "
                f"{last['n_indicators']} indicators ({last['weight_present']:.0%} of the weight).")  # fmt: skip
    latest = max(scored, key=lambda r: r["year"])
    return (f"Latest scored year {latest['year']}: score {latest['score']:.3f} (China's pair share; 0.5 = parity), "
            f"{latest['n_present']} of {latest['n_indicators']} indicators present "
            f"({latest['weight_present']:.0%} of the weight).")  # fmt: skip


def dimension_subject(
    name: str, spec: Any, rows: list[dict[str, Any]], forecasts: list[dict[str, Any]], cx: dict[str, Any] | None
) -> SubjectView:
    scored = sorted((r for r in rows if r["status"] == "ok" and r["score"] is not None), key=lambda r: r["year"])
    history_band = [
        FanPoint(r["year"], r["score"], r["lo_80"], r["hi_80"], r["lo_95"], r["hi_95"])
        for r in scored if None not in (r["lo_80"], r["hi_80"], r["lo_95"], r["hi_95"])
    ]  # fmt: skip
    fan_rows = _pick_model([r for r in forecasts if r["country"] == "CHN"], cx.get("model") if cx else None)
    series = ()
    if scored or fan_rows:
        series = (
            CountrySeries(
                "CHN", history=tuple((r["year"], r["score"]) for r in scored),
                fan=anchored_fan([(r["year"], r["score"]) for r in scored], tuple(history_band) + _fan(fan_rows)),
                label="China's share of the pair",
            ),
        )  # fmt: skip
    chart = ChartSpec(
        title=f"Dimension: {name}", unit="share", series=series, crossover=_band(cx), reference=0.5,
        reference_label="parity (0.5)", chart_id=_chart_id(name),
    )  # fmt: skip
    caveats = [spec.description] if spec is not None else []
    if spec is not None and spec.gaps:
        caveats.append("Cited by the seed but not scored (no pair series): " + ", ".join(spec.gaps) + ".")
    if history_band:
        caveats.append(
            "Shaded history band: uncertainty over the indicator weights (Dirichlet draws), not sampling error."
        )
    builds = sorted({(r["build_id"], _date(r["computed_at"])) for r in rows})
    return SubjectView(
        subject=name, kind="dimension", title=f"Dimension: {name}", category="dimension", unit="share",
        svg=Markup(fan_chart(chart)), caveats=caveats,
        provenance=[f"Build {b} ({d})" for b, d in builds] + _forecast_provenance(forecasts),
        crossover=cx, crossover_text=crossover_sentence(cx, dimension=True), coverage=_dimension_coverage(rows),
    )  # fmt: skip


def _category(entry: Any) -> str:
    category = getattr(entry, "category", "other")
    return getattr(category, "value", category)


def build_page(data: DashboardData, catalog: Any, *, generated_at: datetime | None = None) -> PageView:
    """The view model: one subject per dimension, per indicator with data, per evidence-only indicator with figures."""
    crossovers = {r["subject"]: r for r in data.crossovers}
    sources = {s["source"]: s for s in data.sources}
    obs_by = _group(data.observations, "indicator")
    fc_by = _group(data.forecasts, "subject")
    ev_by = _group(data.evidence, "indicator")
    dim_by = _group(data.dimensions, "dimension")

    subjects = []
    for name, spec in catalog.dimensions.items():
        subjects.append(dimension_subject(name, spec, dim_by.get(name, []), fc_by.get(name, []), crossovers.get(name)))
    entries = sorted(catalog, key=lambda e: (_category_rank(_category(e)), e.id))
    for entry in entries:
        if entry.evidence_only:
            if any(_evidence_year(r) is not None for r in ev_by.get(entry.id, [])):
                subjects.append(evidence_subject(entry, ev_by[entry.id]))
        elif (obs_by.get(entry.id) or fc_by.get(entry.id) or entry.id in crossovers
              or any(_evidence_year(r) is not None for r in ev_by.get(entry.id, []))):  # fmt: skip
            subjects.append(
                indicator_subject(entry, data, crossovers, sources, obs_by.get(entry.id, []), fc_by.get(entry.id, []),
                                  ev_by.get(entry.id, []))  # fmt: skip
            )
    current_runs = [r for r in data.runs if r.get("as_of") is None]
    vintages = [str(r["vintage"])[:10] for r in data.observations]
    categories = []
    for s in subjects:
        if s.category not in categories:
            categories.append(s.category)
    return PageView(
        subjects=subjects, crossovers=data.crossovers, dimensions=_dimension_summary(catalog, dim_by),
        sources=data.sources, runs=data.runs, data_as_of=max(vintages) if vintages else None,
        latest_run=current_runs[0] if current_runs else None,
        models=sorted({r["model"] for r in data.forecasts}), categories=categories,
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M UTC") if generated_at else None,
        empty=not (data.observations or data.forecasts or data.crossovers or data.dimensions),
    )  # fmt: skip


def _category_rank(category: str) -> int:
    return CATEGORY_ORDER.index(category) if category in CATEGORY_ORDER else len(CATEGORY_ORDER)


def _dimension_summary(catalog: Any, dim_by: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    out = []
    for name in catalog.dimensions:
        rows = dim_by.get(name, [])
        scored = [r for r in rows if r["status"] == "ok" and r["score"] is not None]
        candidates = scored or rows
        latest = max(candidates, key=lambda r: r["year"]) if candidates else None
        out.append(
            {
                "dimension": name,
                "year": latest["year"] if latest else None,
                "score": latest["score"] if latest else None,
                "leader": latest["leader"] if latest else None,
                "status": latest["status"] if latest else "no scores",
                "n_present": latest["n_present"] if latest else 0,
                "n_indicators": latest["n_indicators"] if latest else len(catalog.dimension_weights(name)),
                "weight_present": latest["weight_present"] if latest else 0.0,
                "gaps": list(catalog.dimensions[name].gaps),
            }
        )
    return out


# ---------------------------------------------------------------------------------------------- HTML
@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
        lstrip_blocks=True,
    )  # fmt: skip
    env.filters["fmt"] = lambda v, unit="": "–" if v is None else format_value(v, unit)
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.0%}"
    env.filters["date"] = _date
    env.filters["interval"] = lambda row, lo, hi: interval_text(row.get(lo), row.get(hi), row.get("horizon"))
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, s or "")
    env.filters["unit_label"] = unit_label
    env.filters["country"] = country_name
    env.globals["colours"] = COUNTRY_COLOURS
    return env


def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def render_page(page: PageView, *, standalone: bool) -> str:
    """The dashboard (`standalone=False`: links /static assets) or the report (CSS and script inline, more sections)."""
    template = _environment().get_template("page.html")
    assets = {"css": static_text("dashboard.css"), "js": static_text("dashboard.js")} if standalone else None
    return template.render(page=page, standalone=standalone, assets=assets)


def render_dashboard(data: DashboardData, catalog: Any) -> str:
    return render_page(build_page(data, catalog), standalone=False)


def render_report(data: DashboardData, catalog: Any, *, generated_at: datetime) -> str:
    return render_page(build_page(data, catalog, generated_at=generated_at), standalone=True)


def _schema_text(schema: dict[str, Any]) -> str:
    """A parameter's schema in one line: type, enum, bounds, pattern."""
    options = schema.get("anyOf") or [schema]
    parts = []
    for option in options:
        if option.get("type") == "null":
            continue
        text = option.get("type", "")
        if "enum" in option:
            text = " | ".join(str(v) for v in option["enum"])
        if "const" in option:
            text = str(option["const"])
        bounds = [f"{k} {option[k]}" for k in ("minimum", "maximum", "maxLength") if k in option]
        if "pattern" in option:
            bounds.append(f"pattern {option['pattern']}")
        parts.append(text + (f" ({', '.join(bounds)})" if bounds else ""))
    default = schema.get("default")
    return " or ".join(parts) + (f"; default {default}" if default is not None else "")


def render_api_docs(openapi: dict[str, Any]) -> str:
    """The OpenAPI document as a plain HTML page (no CDN-hosted Swagger UI: it must work offline)."""
    operations = []
    for path, methods in openapi.get("paths", {}).items():
        for method, op in methods.items():
            params = [
                {"name": p["name"], "where": p["in"], "required": p.get("required", False),
                 "schema": _schema_text(p.get("schema", {})), "description": p.get("description", "")}
                for p in op.get("parameters", [])
            ]  # fmt: skip
            responses = [(code, r.get("description", "")) for code, r in op.get("responses", {}).items()]
            operations.append(
                {"method": method.upper(), "path": path, "summary": op.get("summary", ""), "params": params,
                 "responses": responses}  # fmt: skip
            )
    template = _environment().get_template("api_docs.html")
    return template.render(info=openapi.get("info", {}), operations=operations, css=static_text("dashboard.css"))
