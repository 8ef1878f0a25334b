"""The dashboard in a real headless browser (Debian chromium via Playwright): loads cleanly, draws charts, and its
crossover table equals /api/crossovers; the report opens from disk without a single request.

By default the page is served from the real-pipeline slice database of tests/realdb.py; set
AITRACK_BROWSER_DATABASE_URL to point it at a real snapshot database (e.g. sqlite:///data/aitrack.db after
`aitrack run`). AITRACK_DASHBOARD_SCREENSHOT=docs/dashboard.png saves a screenshot of the page.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aitrack.api import create_app
from aitrack.report import write_report
from db.read import Reader
from db.session import make_engine
from indicators.catalog import load_catalog
from tests.realdb import build_real_db
from tests.api.live_server import live_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium); "
        "the dashboard's browser test needs a real browser",
    ),
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install '.[test]')"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Iterator[Reader]:
    url = os.environ.get("AITRACK_BROWSER_DATABASE_URL")
    if url:
        engine = make_engine(url)
        yield Reader(engine)
    else:
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('browser') / 'aitrack.db'}")
        build_real_db(engine)
        yield Reader(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def base_url(repo) -> Iterator[str]:
    with live_server(create_app(repo)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageWatch:
    """Console errors, uncaught exceptions, failed requests and every URL the page asked for."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url} {r.failure}"))
        page.on("request", lambda r: self.requests.append(r.url))


@pytest.fixture
def dashboard(browser, base_url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = PageWatch(page)
    response = page.goto(base_url + "/", wait_until="networkidle")
    assert response is not None and response.status == 200
    yield page, watch
    page.close()


def test_page_loads_without_errors_or_outside_requests(dashboard, base_url):
    page, watch = dashboard
    assert watch.errors == []
    assert watch.requests and all(url.startswith(base_url + "/") for url in watch.requests), watch.requests
    assert page.title().startswith("US–China AI competition tracker")


def test_a_chart_renders(dashboard):
    page, _ = dashboard
    history = page.locator("svg.fan-chart polyline.history").first
    history.wait_for(state="visible")
    box = history.bounding_box()
    assert box is not None and box["width"] > 50 and box["height"] > 1
    charts = page.locator("article.subject svg.fan-chart")
    assert charts.count() == page.locator("article.subject").count() > 0
    shot = os.environ.get("AITRACK_DASHBOARD_SCREENSHOT")
    if shot:
        # From the dimensions table down: coverage, fans, the crossover band and the parity line in one picture.
        top = page.locator("#dimensions").bounding_box()["y"] + page.evaluate("window.scrollY")
        page.screenshot(path=shot, full_page=True, clip={"x": 0, "y": top, "width": 1280, "height": 1700})


def test_crossover_table_equals_the_api(dashboard, base_url):
    page, _ = dashboard
    api = httpx.get(base_url + "/api/crossovers", timeout=10).json()
    rows = page.eval_on_selector_all(
        "#crossover-table tbody tr[data-subject]",
        """els => els.map(e => ({subject: e.dataset.subject, pair: e.dataset.pair, status: e.dataset.status,
            leader: e.dataset.leader, median: e.dataset.median, lo80: e.dataset.lo80, hi80: e.dataset.hi80,
            cells: Array.from(e.cells).map(c => c.innerText.trim())}))""",
    )
    assert api, "the database has no crossover rows to compare"

    def text(value) -> str:
        return "" if value is None else str(value)

    assert [(r["subject"], r["pair"], r["status"], r["leader"], r["median"], r["lo80"], r["hi80"]) for r in rows] == [
        (a["subject"], a["pair"], a["status"], text(a["leader_now"]), text(a["median_year"]), text(a["lo_80"]),
         text(a["hi_80"]))
        for a in api
    ]  # fmt: skip
    for row, a in zip(rows, api):
        assert row["cells"][0] == a["subject"]
        assert row["cells"][6] == (str(a["median_year"]) if a["median_year"] else "–")


def test_evidence_markers_quote_the_seed(dashboard):
    page, _ = dashboard
    titles = page.eval_on_selector_all("svg.fan-chart .evidence title", "els => els.map(e => e.textContent)")
    assert titles and all(" · seed " in t and "line" in t for t in titles)


def test_filter_narrows_the_indicator_charts(dashboard):
    page, _ = dashboard
    total = page.locator("#indicators article.subject").count()
    page.fill("#filter-text", "patent")
    visible = page.locator("#indicators article.subject:visible")
    assert 0 < visible.count() < total
    assert all("patent" in s for s in visible.evaluate_all("els => els.map(e => e.dataset.search)"))
    page.fill("#filter-text", "")
    assert page.locator("#indicators article.subject:visible").count() == total


def test_report_opens_from_disk_without_any_request(browser, repo, tmp_path):
    out = write_report(repo, tmp_path / "report.html", catalog=load_catalog())
    page = browser.new_page()
    watch = PageWatch(page)
    outside: list[str] = []

    def block(route) -> None:
        if route.request.url != out.as_uri():
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", block)
    page.goto(out.as_uri(), wait_until="load")
    assert outside == [] and watch.errors == []
    assert page.locator("svg.fan-chart polyline.history").first.is_visible()
    assert page.locator("#sources-table tbody tr[data-source]").count() > 0
    page.close()
