"""The dashboard in a real headless browser (Debian chromium via Playwright): loads cleanly, draws charts, and its
crossover table equals /api/crossovers; the report opens from disk without a single request.

By default the page is served from the real-pipeline slice database of tests/realdb.py; set
AITRACK_BROWSER_DATABASE_URL to point it at a real snapshot database (e.g. sqlite:///data/aitrack.db after
`aitrack run`). AITRACK_DASHBOARD_SCREENSHOT=docs saves screenshots there: the overview (dashboard.png) and the
TOP500 and large-scale AI systems pages (dashboard-top500-systems.png, dashboard-large-scale-ai-systems.png).
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


SHOT_DIR = os.environ.get("AITRACK_DASHBOARD_SCREENSHOT")  # a folder (docs/): overview and two subject pages


@pytest.fixture
def dashboard(browser, base_url):
    page = browser.new_page(viewport={"width": 1720, "height": 1000})
    watch = PageWatch(page)
    response = page.goto(base_url + "/", wait_until="networkidle")
    assert response is not None and response.status == 200
    yield page, watch
    page.close()


def test_page_loads_without_errors_or_outside_requests(dashboard, base_url):
    page, watch = dashboard
    assert watch.errors == []  # includes Content-Security-Policy violations, which Chromium reports as errors
    assert watch.requests and all(url.startswith(base_url + "/") for url in watch.requests), watch.requests
    assert page.title().startswith("US–China AI competition tracker")
    if SHOT_DIR:
        page.screenshot(path=str(Path(SHOT_DIR) / "dashboard.png"), full_page=False)


def test_every_chart_renders_on_every_page(browser, base_url):
    page = browser.new_page(viewport={"width": 1720, "height": 1000})
    watch = PageWatch(page)
    page.goto(base_url + "/", wait_until="networkidle")
    cards = page.locator("#dimensions svg.fan-chart")
    assert cards.count() == 4
    subjects = sorted(set(page.eval_on_selector_all(
        "a[href^='/subjects/']", "els => els.map(e => e.getAttribute('href'))")))  # fmt: skip
    assert len(subjects) >= 8
    for href in subjects:
        response = page.goto(base_url + href, wait_until="load")
        assert response is not None and response.status == 200, href
        chart = page.locator("article.subject svg.fan-chart").first
        chart.wait_for(state="visible")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 600 and box["height"] > 30, href  # full width, drawn
        if "empty-chart" not in (chart.get_attribute("class") or "") and "timeline" not in chart.get_attribute("class"):
            marks = page.locator("article.subject svg.fan-chart polyline.history, article.subject svg.fan-chart rect.provisional")
            assert marks.count() > 0, href
            assert page.locator("ul.legend li").count() > 0, href
        if SHOT_DIR and href in ("/subjects/top500_systems", "/subjects/large_scale_ai_systems"):
            name = "dashboard-" + href.rsplit("/", 1)[1].replace("_", "-") + ".png"
            page.screenshot(path=str(Path(SHOT_DIR) / name), full_page=False)
    assert watch.errors == []
    page.close()


def test_overview_table_equals_the_api(dashboard, base_url):
    from aitrack.present.crossovers import CrossoverView, display_table

    page, _ = dashboard
    api = httpx.get(base_url + "/api/crossovers", params={"limit": 10000}, timeout=10).json()
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
    _, cells = display_table([CrossoverView(**{**a, "run_created_at": None}) for a in api])
    assert [r["cells"] for r in rows] == cells  # the same words and numbers as `aitrack crossovers`
    heights = page.eval_on_selector_all("#crossover-table tbody tr[data-subject]", "els => els.map(e => e.offsetHeight)")
    assert max(heights) < 1.6 * min(heights)  # one line per subject: no cell wraps


def test_sorting_by_a_column_orders_the_rows(dashboard):
    page, _ = dashboard
    page.click("#crossover-table th:has-text('P(by 2030)') button")
    values = page.eval_on_selector_all(
        "#crossover-table tbody tr[data-subject]", "els => els.map(e => e.cells[8].dataset.sort)")
    numbers = [float(v) for v in values if v]
    assert numbers == sorted(numbers) and numbers
    assert all(v == "" for v in values[len(numbers):])  # no estimate sorts last


def test_evidence_markers_quote_the_seed_with_its_citation(browser, base_url):
    page = browser.new_page()
    page.goto(base_url + "/subjects/ai_papers", wait_until="load")
    titles = page.eval_on_selector_all("svg.fan-chart .evidence title", "els => els.map(e => e.textContent)")
    assert titles and all(" · seed " in t and ", line " in t for t in titles)
    assert page.locator("ul.legend li", has_text="seed figure").count() == 1
    page.close()


def test_filters_narrow_the_table(dashboard):
    page, _ = dashboard
    total = page.locator("#crossover-table tbody tr[data-subject]").count()
    page.select_option("#filter-dimension", "legitimacy")
    visible = page.locator("#crossover-table tbody tr[data-subject]:visible")
    assert 0 < visible.count() < total
    assert all("legitimacy" in d.split() for d in visible.evaluate_all("els => els.map(e => e.dataset.dimensions)"))
    page.select_option("#filter-dimension", "")
    page.fill("#filter-text", "patent")
    assert 0 < page.locator("#crossover-table tbody tr[data-subject]:visible").count() < total
    page.fill("#filter-text", "")
    assert page.locator("#crossover-table tbody tr[data-subject]:visible").count() == total


def test_a_chart_point_opens_its_provenance(browser, base_url):
    page = browser.new_page()
    watch = PageWatch(page)
    page.goto(base_url + "/subjects/ai_papers", wait_until="load")
    with page.expect_navigation():
        page.locator("svg.fan-chart a.provenance-link").last.click(force=True)
    assert "/provenance?indicator=ai_papers" in page.url
    assert page.locator("table.provenance-table").count() >= 1 and watch.errors == []
    page.close()


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
    assert page.locator("#dimensions svg.fan-chart").first.is_visible()
    assert page.locator("#sources-table tbody tr[data-source]").count() > 0
    # A subject link of the overview opens its (collapsed) section and shows its chart.
    page.locator("#crossover-table a[href='#subject-ai_papers']").click()
    assert page.locator("#subject-ai_papers svg.fan-chart polyline.history").first.is_visible()
    assert watch.errors == []
    page.close()
