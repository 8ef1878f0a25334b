"""Page models in, HTML out: the overview, a subject page, the provenance page, the self-contained report and the API
reference, from one set of Jinja templates (`templates/`) and one stylesheet and script (`static/`)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from aitrack.dashboard.data import DashboardData
from aitrack.dashboard.overview import Header, build_overview, header_of, subject_page
from aitrack.dashboard.subjects import REPORT, SERVED, Links
from aitrack.present.crossovers import STATUS_LABELS
from aitrack.present.formatting import format_value, unit_label
from contracts.countries import country_name

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")


def _date(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10] if value else ""


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
                      lstrip_blocks=True)  # fmt: skip
    env.filters["fmt"] = lambda v, unit="": "–" if v is None else format_value(v, unit)
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.0%}"
    env.filters["date"] = _date
    env.filters["unit_label"] = unit_label
    env.filters["country"] = country_name
    env.globals["status_labels"] = STATUS_LABELS
    return env


def static_text(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def _render(template: str, *, standalone: bool = False, links: Links = SERVED, **context: Any) -> str:
    assets = {"css": static_text("dashboard.css"), "js": static_text("dashboard.js")} if standalone else None
    return _environment().get_template(template).render(standalone=standalone, assets=assets, links=links, **context)


def render_overview(data: DashboardData, catalog: Any) -> str:
    """The dashboard's first page: the four dimensions and the crossover table, one line per subject."""
    overview = build_overview(data, catalog, SERVED)
    return _render("overview.html", overview=overview, header=overview.header)


def render_subject(data: DashboardData, catalog: Any, subject: str) -> str | None:
    """One subject's page, or None when the subject has no page (no data, unknown)."""
    page = subject_page(subject, data, catalog, SERVED)
    if page is None:
        return None
    return _render("subject.html", s=page, header=header_of(data))


def render_provenance(data: DashboardData, rows: list[dict[str, Any]], query: Any, json_href: str) -> str:
    return _render("provenance.html", rows=rows, query=query, json_href=json_href, header=header_of(data))


def render_report(data: DashboardData, catalog: Any, *, generated_at: datetime) -> str:
    """The report: the overview and every subject (collapsible), methodology and sources; CSS and script inline."""
    from indicators.evidence import load_seeds

    overview = build_overview(data, catalog, REPORT, generated_at=generated_at, with_subjects=True)
    models = sorted(set(data.forecasts["model"].to_list())) if data.forecasts.height else []
    return _render("report.html", standalone=True, links=REPORT, overview=overview, header=overview.header,
                   sources=data.sources, models=models, seeds=list(load_seeds().values()))  # fmt: skip


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
            params = [{"name": p["name"], "where": p["in"], "required": p.get("required", False),
                       "schema": _schema_text(p.get("schema", {})), "description": p.get("description", "")}
                      for p in op.get("parameters", [])]  # fmt: skip
            responses = [(code, r.get("description", "")) for code, r in op.get("responses", {}).items()]
            operations.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                               "params": params, "responses": responses})  # fmt: skip
    return _environment().get_template("api_docs.html").render(info=openapi.get("info", {}), operations=operations)


__all__ = ["Header", "render_api_docs", "render_overview", "render_provenance", "render_report", "render_subject",
           "static_text"]  # fmt: skip
