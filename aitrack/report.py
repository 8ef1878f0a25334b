"""A Reader and the catalog in, one self-contained HTML report out (inline CSS, script and SVG, no external requests):
the dashboard's overview and every subject page as a collapsible section, methodology and sources."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aitrack.dashboard.data import load_dashboard_data
from aitrack.dashboard.render import render_report
from contracts.pair import DEFAULT_PAIR
from db.read import Reader


def build_report(repo: Reader, *, catalog: Any, generated_at: datetime | None = None,
                 pair: tuple[str, str] = DEFAULT_PAIR) -> str:  # fmt: skip
    """The report's HTML, from the same rows and templates as the dashboard (the official results of `pair`)."""
    data = load_dashboard_data(repo, catalog, pair)
    return render_report(data, catalog, generated_at=generated_at or datetime.now(timezone.utc))


def write_report(repo: Reader, out_path: str | Path, *, catalog: Any, generated_at: datetime | None = None,
                 pair: tuple[str, str] = DEFAULT_PAIR) -> Path:  # fmt: skip
    """Write the report to `out_path` (parents created) and return the path; written whole, so never half a file."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    html = build_report(repo, catalog=catalog, generated_at=generated_at, pair=pair)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(out)
    return out
