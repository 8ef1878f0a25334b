"""The shareable report: one self-contained HTML file with the dashboard's charts, the crossover table and sources."""

from __future__ import annotations

from datetime import datetime, timezone
import re
from html.parser import HTMLParser

import pytest

from aitrack.dashboard.data import load_dashboard_data
from aitrack.dashboard.overview import page_subjects
from aitrack.dashboard.render import render_overview, render_subject
from aitrack.report import write_report
from indicators.catalog import load_catalog

GENERATED = datetime(2026, 7, 21, 9, 30, tzinfo=timezone.utc)


class Inventory(HTMLParser):
    """Collects the references that would make a browser fetch something, and the structure the tests check."""

    def __init__(self) -> None:
        super().__init__()
        self.fetching: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.links: list[str] = []
        self.chart_ids: list[str] = []
        self.crossover_rows: list[dict[str, str]] = []
        self.source_rows: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in ("src", "srcset", "data", "poster", "background", "action", "formaction"):
            if attributes.get(name):
                self.fetching.append((tag, name, attributes[name]))
        if tag in ("link", "use", "image") and (attributes.get("href") or attributes.get("xlink:href")):
            self.fetching.append((tag, "href", attributes.get("href") or attributes["xlink:href"]))
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "title" and attributes.get("id", "").startswith("chart-"):
            self.chart_ids.append(attributes["id"])
        if tag == "tr" and "data-subject" in attributes and "data-pair" in attributes:
            self.crossover_rows.append(attributes)
        if tag == "tr" and "data-source" in attributes:
            self.source_rows.append(attributes["data-source"])
        if attributes.get("style"):
            self.styles.append(attributes["style"])
        self._in_style = tag == "style"

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False


def inventory(html: str) -> Inventory:
    parser = Inventory()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def report(fixture_db, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    path = write_report(fixture_db.repo, out, catalog=load_catalog(), generated_at=GENERATED)
    assert path == out and not out.with_name("report.html.partial").exists()
    return out.read_text(encoding="utf-8")


def test_report_requests_nothing_from_outside(report):
    found = inventory(report)
    # No src, no stylesheet or script link: everything is inline (the favicon is an empty data: URI).
    assert [f for f in found.fetching if not f[2].startswith("data:")] == []
    assert "<style>" in report and "<script>\n" in report
    assert not any("url(" in s for s in found.styles)
    # Links to the sources' homepages are allowed: they are navigation, not requests made on opening the file.
    assert any(link.startswith("https://") for link in found.links)
    assert all(link.startswith(("#", "https://", "http://")) for link in found.links)
    assert not any(link.startswith(("/provenance", "/subjects")) for link in found.links)  # no server in a file


def test_report_has_the_dashboards_charts(report, fixture_db):
    catalog = load_catalog()
    data = load_dashboard_data(fixture_db.repo, catalog)
    served = inventory(render_overview(data, catalog)).chart_ids
    for subject in page_subjects(data, catalog):
        served += inventory(render_subject(data, catalog, subject)).chart_ids
    assert sorted(inventory(report).chart_ids) == sorted(served)
    expected = {"chart-ai_papers-title", "chart-cohesion-title", "chart-gerd_pct_gdp-title", "chart-cohesion-card-title"}
    assert expected <= set(inventory(report).chart_ids)


def test_report_crossover_table_equals_the_view(report, fixture_db):
    rows = inventory(report).crossover_rows
    view = fixture_db.repo.crossovers()
    assert [r["data-subject"] for r in rows] == [cx.subject for cx in view]
    assert [r["data-status"] for r in rows] == [cx.status for cx in view]
    assert [r["data-median"] for r in rows] == ["" if cx.median_year is None else str(cx.median_year) for cx in view]


def test_report_names_sources_licences_dates_and_method(report, fixture_db):
    # The slice's sources (tests/realdb.py) and aitrack's own derived series.
    assert inventory(report).source_rows == ["aitrack", "oecd", "owid", "unga", "worldbank"]
    assert report.count("CC BY 4.0") >= 2
    # Retrieval dates of the OWID files and of the World Bank copies (data/snapshot/*/manifest.yaml).
    assert "2026-05-07" in report and "2026-11-22" in report
    newest_vintage = max(v[:10] for v in fixture_db.summary.observations["vintage"].to_list())
    assert f"newest source vintage {newest_vintage}" in report
    assert re.search(r"Data: observed years <strong>\d{4}–\d{4}", report)
    assert "report generated 2026-07-21 09:30 UTC" in report
    assert 'id="methodology"' in report and "first passage" in report
    assert fixture_db.summary.current_run_id in report


def test_report_shows_caveats_and_seed_evidence(report):
    catalog = load_catalog()
    for caveat in catalog.get("ai_papers").caveats:
        assert caveat.replace("'", "&#39;").replace('"', "&#34;") in report
    # AI2's crossover forecast (seed 003 line 348) stands beside the top-10% series even before that series has data.
    assert "China will overtake the US in total number of top 10 per cent AI research papers by 2020" in report


def test_report_cites_the_seeds_by_author_title_year_and_url(report):
    from indicators.evidence import load_seeds

    for seed in load_seeds().values():
        assert seed.title.replace("'", "&#39;") in report and seed.author in report
        if seed.url:
            assert f'href="{seed.url}"' in report
    assert "000_48435f7d0d106ffe.txt" not in report  # a file name only our machines have is never the citation
