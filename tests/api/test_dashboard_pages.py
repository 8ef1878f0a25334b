"""The served dashboard on the real-pipeline database: the overview's table is the crossover presentation, every
subject with data has a page, every drawn point links to a provenance page that answers, and the header states the
data years and the run's date."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlparse

import pytest

from aitrack.dashboard.data import load_dashboard_data
from aitrack.dashboard.overview import page_subjects
from aitrack.present.crossovers import CrossoverView, display_table
from indicators.catalog import load_catalog


class Cells(HTMLParser):
    """The crossover table's rows (data attributes and cell texts), links and SVG point links of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict] = []
        self.links: list[str] = []
        self.svg_links: list[str] = []
        self._cell: list[str] | None = None
        self._in_svg = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self._in_svg += 1
        if tag == "a" and a.get("href"):
            (self.svg_links if self._in_svg else self.links).append(a["href"])
        if tag == "tr" and "data-subject" in a and "data-pair" in a:
            self.rows.append({"attrs": a, "cells": []})
        if tag == "td" and self.rows and self._cell is None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self._in_svg -= 1
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Cells:
    parser = Cells()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def data(fixture_db):
    return load_dashboard_data(fixture_db.repo, load_catalog())


def test_the_overview_table_is_the_api_presentation_word_for_word(client):
    api = client.get("/api/crossovers").json()
    page = parse(client.get("/").text)
    views = [CrossoverView(**{**r, "run_created_at": None}) for r in api]
    headers, cells = display_table(views)
    assert [r["attrs"]["data-subject"] for r in page.rows] == [r["subject"] for r in api]
    assert [r["attrs"]["data-status"] for r in page.rows] == [r["status"] for r in api]
    assert [r["cells"] for r in page.rows] == cells
    html = client.get("/").text
    assert all(f"<button type=\"button\">{h}</button>" in html for h in headers)


def test_every_subject_with_data_has_a_page_with_a_chart(client, data):
    catalog = load_catalog()
    subjects = page_subjects(data, catalog)
    assert {"ai_papers", "gerd_pct_gdp", "large_scale_ai_systems", "cohesion", "legitimacy"} <= set(subjects)
    for subject in subjects:
        response = client.get(f"/subjects/{subject}")
        assert response.status_code == 200, subject
        assert 'class="fan-chart' in response.text and f'data-subject="{subject}"' in response.text
    missing = client.get("/subjects/ai_works_openalex")  # catalogued, nothing stored in the slice
    assert missing.status_code == 404 and "ai_papers" in missing.json()["valid"]


def test_the_overview_lists_subjects_without_data_in_one_line_not_as_cards(client):
    html = client.get("/").text
    line = re.search(r'<p class="empty-subjects" id="empty-subjects">(.*?)</p>', html, re.S).group(1)
    assert "ai_works_openalex" in line and "large_scale_ai_systems" not in line
    assert "No data stored for this subject yet" not in html.split('id="crossovers"')[1]


def test_every_drawn_point_links_to_a_provenance_page_that_answers(client):
    page = parse(client.get("/subjects/large_scale_ai_systems").text)
    links = [link for link in page.svg_links if link.startswith("/provenance?")]
    assert len(links) >= 14  # 2019–2026 for both countries
    for link in links[:3] + links[-3:]:
        query = {k: v[0] for k, v in parse_qs(urlparse(link).query).items()}
        assert query["indicator"] == "large_scale_ai_systems"
        response = client.get(link)
        assert response.status_code == 200 and "the current value" in response.text
        assert "aitrack payload " in response.text and "CC BY 4.0" in response.text


def test_provisional_values_are_drawn_apart_and_flagged_in_the_table(client):
    html = client.get("/subjects/large_scale_ai_systems").text
    assert html.count('class="provisional"') >= 2 + 2  # two hollow squares and two flagged table rows
    assert "2026 p" in html and "provisional (partial year)" in html
    overview = parse(client.get("/").text)
    row = next(r for r in overview.rows if r["attrs"]["data-subject"] == "large_scale_ai_systems")
    assert "192 (2026 p)" in row["cells"] and "215 (2026 p)" in row["cells"]


def test_the_header_states_the_data_years_and_the_run_date(client, fixture_db):
    html = client.get("/").text
    runs = [r for r in fixture_db.repo.forecast_runs() if r["kind"] == "official"]
    assert re.search(r"Data: observed years <strong>\d{4}–\d{4} \(provisional: 2026\)</strong>", html)
    assert f"forecast run <code>{runs[0]['id'][:8]}</code> made <strong>{runs[0]['created_at']:%Y-%m-%d}</strong>" in html


def test_the_dimension_filter_has_what_the_rows_carry(client):
    page = parse(client.get("/").text)
    cohesion = [r["attrs"]["data-subject"] for r in page.rows if "cohesion" in r["attrs"]["data-dimensions"].split()]
    assert "ai_papers" in cohesion and "gerd_pct_gdp" in cohesion and "unga_states_closer" not in cohesion
