"""Server-side SVG charts and the page's view model: properties over generated inputs, and the mapping of seed evidence.

Example values are real: CSET/OWID AI publications CHN/USA 2015–2023 (tests/api/fixtures/observations.csv) and seed
evidence rows e0240 (CHN 2017, 15,199 papers) and e0088 (AI2: China passes the US in top-10% papers by 2020).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aitrack.dashboard.charts import (
    ChartSpec,
    CountrySeries,
    CrossoverBand,
    EvidenceMarker,
    FanPoint,
    chart_frame,
    fan_chart,
    format_value,
    linear_ticks,
    log_ticks,
    year_ticks,
)
from aitrack.dashboard.render import anchored_fan, crossover_sentence, evidence_markers, interval_text

SVG = "{http://www.w3.org/2000/svg}"
CSET_PAPERS = {
    "CHN": [(2015, 22041), (2016, 21856), (2017, 26357), (2018, 35468), (2019, 47042), (2020, 54200), (2021, 71120),
            (2022, 82032), (2023, 103493)],
    "USA": [(2015, 20506), (2016, 22419), (2017, 25382), (2018, 31876), (2019, 39790), (2020, 47187), (2021, 50596),
            (2022, 43539), (2023, 50039)],
}  # fmt: skip

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
positive = st.floats(min_value=1e-6, max_value=1e13, allow_nan=False, allow_infinity=False)


@st.composite
def fans(draw, start: int = 2024) -> tuple[FanPoint, ...]:
    n = draw(st.integers(1, 15))
    points = []
    for i in range(n):
        values = sorted(draw(st.lists(finite, min_size=5, max_size=5)))
        lo95, lo80, mean, hi80, hi95 = values
        points.append(FanPoint(start + i, mean, lo80, hi80, lo95, hi95))
    return tuple(points)


@st.composite
def specs(draw) -> ChartSpec:
    series = []
    for country in draw(st.lists(st.sampled_from(["CHN", "USA", "XUC"]), max_size=3, unique=True)):
        years = draw(st.lists(st.integers(1990, 2023), max_size=20, unique=True))
        history = tuple((y, draw(finite)) for y in sorted(years))
        series.append(CountrySeries(country, history=history, fan=draw(st.one_of(st.just(()), fans()))))
    band = draw(
        st.one_of(
            st.none(),
            st.builds(CrossoverBand, *[st.one_of(st.none(), st.integers(2024, 2040))] * 3, st.just(2040),
                      st.text(max_size=30)),  # fmt: skip
        )
    )
    markers = draw(
        st.lists(
            st.builds(EvidenceMarker, st.text(min_size=1, max_size=8), st.integers(1990, 2040),
                      st.one_of(st.none(), finite), st.sampled_from([None, "CHN", "USA", "EUU", "CHN-USA"]),
                      st.sampled_from(["measured", "target", "claim", "forecast"]), st.text(max_size=80)),  # fmt: skip
            max_size=5,
        )
    )
    return ChartSpec(
        title=draw(st.text(max_size=40)), unit=draw(st.sampled_from(["count", "pct_gdp", "share", "usd"])),
        series=tuple(series), crossover=band, evidence=tuple(markers), log_scale=draw(st.booleans()),
        reference=draw(st.one_of(st.none(), st.just(0.5))),
    )  # fmt: skip


def numbers_in(element: ET.Element) -> list[float]:
    out = []
    for name in ("x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "width", "height"):
        if name in element.attrib:
            out.append(float(element.attrib[name]))
    if "points" in element.attrib:
        out += [float(v) for v in re.split(r"[ ,]+", element.attrib["points"].strip())]
    return out


@settings(max_examples=150, deadline=None)
@given(specs())
def test_any_spec_renders_well_formed_svg_inside_its_box(spec):
    svg = fan_chart(spec)
    root = ET.fromstring(svg)  # raises on broken markup or unescaped text
    assert root.tag == f"{SVG}svg"
    _, _, width, height = (float(v) for v in root.attrib["viewBox"].split())
    for element in root.iter():
        for value in numbers_in(element):
            assert math.isfinite(value)
        if element.tag == f"{SVG}rect":
            assert float(element.attrib["width"]) >= 0 and float(element.attrib["height"]) >= 0
        if element.tag in (f"{SVG}polyline", f"{SVG}polygon", f"{SVG}circle"):
            xs_ys = numbers_in(element)
            if element.tag == f"{SVG}circle":
                xs_ys = xs_ys[:2]
            # Markers may poke out by their radius; data points themselves are clamped to the plot.
            assert all(-10 <= v <= max(width, height) + 10 for v in xs_ys)


def test_a_log_chart_of_values_near_zero_falls_back_to_linear():
    # A positive value below 1e-300 put a tick at 10**-324 == 0.0 and the log axis failed (found by the property test).
    spec = ChartSpec(title="t", unit="count", log_scale=True,
                     series=(CountrySeries("CHN", history=((2020, 5e-324), (2021, 1.0))),))  # fmt: skip
    frame, ticks, _ = chart_frame(spec)
    assert not frame.log and ticks[0] <= 0 and ticks[-1] >= 1
    ET.fromstring(fan_chart(spec))


@settings(max_examples=200, deadline=None)
@given(finite, finite, st.integers(2, 10))
@example(0.0, 5e-324, 2)  # a subnormal span: log10 of span/target failed with a math domain error
def test_linear_ticks_cover_the_range_on_an_even_grid(lo, hi, target):
    ticks = linear_ticks(lo, hi, target)
    assert ticks == sorted(ticks) and len(ticks) >= 2
    assert ticks[0] <= min(lo, hi) + 1e-6 * max(1.0, abs(lo), abs(hi))
    assert ticks[-1] >= max(lo, hi) - 1e-6 * max(1.0, abs(lo), abs(hi))
    steps = [b - a for a, b in zip(ticks, ticks[1:])]
    noise = 1e-12 * max(abs(t) for t in ticks)
    assert max(steps) - min(steps) <= 1e-6 * max(steps) + noise
    assert len(ticks) <= 2 * target + 3


@settings(max_examples=200, deadline=None)
@given(positive, positive)
def test_log_ticks_bracket_the_range(a, b):
    ticks = log_ticks(a, b)
    assert ticks == sorted(ticks)
    assert ticks[0] <= min(a, b) * (1 + 1e-9) and ticks[-1] >= max(a, b) * (1 - 1e-9)


@given(st.integers(1900, 2100), st.integers(0, 150))
def test_year_ticks_are_inside_and_increasing(first, span):
    ticks = year_ticks(first, first + span)
    assert ticks == sorted(set(ticks))
    assert all(first <= t <= first + span for t in ticks) or ticks == [first]


@settings(max_examples=100, deadline=None)
@given(fans())
def test_the_95_band_encloses_the_80_band_on_screen(fan):
    spec = ChartSpec(title="t", unit="count", series=(CountrySeries("CHN", fan=fan),))
    root = ET.fromstring(fan_chart(spec))
    polygons = {p.attrib["class"]: p for p in root.iter(f"{SVG}polygon") if "fan" in p.attrib.get("class", "")}
    outer = [float(v) for v in re.split(r"[ ,]+", polygons["fan-95"].attrib["points"])][1::2]
    inner = [float(v) for v in re.split(r"[ ,]+", polygons["fan-80"].attrib["points"])][1::2]
    n = len(fan)
    # Upper edges first (screen y grows downwards), then lower edges in reverse.
    assert all(o <= i + 0.11 for o, i in zip(outer[:n], inner[:n]))
    assert all(o >= i - 0.11 for o, i in zip(outer[n:], inner[n:]))


def test_a_real_pair_chart_has_both_histories_and_a_crossover_band():
    fan = (FanPoint(2024, 120000, 100000, 140000, 90000, 160000),)
    spec = ChartSpec(
        title="AI papers", unit="count",
        series=tuple(CountrySeries(c, history=tuple(CSET_PAPERS[c]), fan=fan) for c in ("CHN", "USA")),
        crossover=CrossoverBand(2026, None, 2030, 2035),
    )  # fmt: skip
    root = ET.fromstring(fan_chart(spec))
    histories = [p for p in root.iter(f"{SVG}polyline") if p.attrib["class"] == "history"]
    assert {p.attrib["stroke"] for p in histories} == {"#D55E00", "#0072B2"}
    band = next(r for r in root.iter(f"{SVG}rect") if r.attrib.get("class") == "crossover-band")
    assert "after 2035" in band.find(f"{SVG}title").text
    frame, y_ticks, _ = chart_frame(spec)
    # The axis spans history and the 80% band (to 140k); the 95% band (to 160k) is clipped and the legend says so.
    assert y_ticks[0] == 0 and 140000 <= y_ticks[-1] < 160000
    assert "(95% clipped)" in fan_chart(spec)
    # CHN 2023 (103,493) is drawn above USA 2023 (50,039): a smaller screen y.
    points = {c.find(f"{SVG}title").text: float(c.attrib["cy"]) for c in root.iter(f"{SVG}circle")}
    assert points["China 2023: 103k"] < points["United States 2023: 50k"]


def test_a_missing_year_breaks_the_history_line():
    history = tuple(p for p in CSET_PAPERS["USA"] if p[0] != 2019)
    spec = ChartSpec(title="gap", unit="count", series=(CountrySeries("USA", history=history),))
    root = ET.fromstring(fan_chart(spec))
    assert len([p for p in root.iter(f"{SVG}polyline") if p.attrib["class"] == "history"]) == 2


def test_log_axis_falls_back_to_linear_for_non_positive_values():
    spec = ChartSpec(title="t", unit="count", series=(CountrySeries("CHN", history=((2020, 0.0), (2021, 10.0))),),
                     log_scale=True)  # fmt: skip
    assert 'data-scale="linear"' in fan_chart(spec)


def test_text_is_escaped():
    spec = ChartSpec(title='<script>"&', unit="count",
                     evidence=(EvidenceMarker("e1", 2020, None, None, "claim", 'a <b> & "c"'),))  # fmt: skip
    svg = fan_chart(spec)
    assert "<script>" not in svg
    ET.fromstring(svg)


def test_year_claims_alone_make_a_timeline():
    marker = EvidenceMarker("e0089", 2025, None, "CHN-USA", "forecast", "and top 1 per cent papers by 2025")
    root = ET.fromstring(fan_chart(ChartSpec(title="top 1%", unit="count", evidence=(marker,))))
    assert "timeline" in root.attrib["class"]
    assert not [t for t in root.iter(f"{SVG}text") if "y" in t.attrib.get("class", "").split()]  # no value axis
    assert [t.text for t in root.iter(f"{SVG}title")][-1] == "and top 1 per cent papers by 2025"


def test_empty_spec_says_so_without_axes():
    svg = fan_chart(ChartSpec(title="nothing", unit="count"))
    assert "No data stored" in svg and "axes" not in svg


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(103493, "count", "103k"), (148345083627, "usd_const", "148bn"), (2.57729, "pct_gdp", "2.58%"),
     (0.456, "share", "0.46"), (214, "count", "214")],  # fmt: skip
)
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def evidence(**row):
    base = {"evidence_id": "e0000", "document": "004_228ec57d7ec7d8e7.txt", "line": 1, "quote": "q", "indicator": "x",
            "country": "CHN", "period_start": None, "period_end": None, "value": None, "unit": "count",
            "value_kind": "measured", "source_named": None, "notes": None}  # fmt: skip
    return {**base, **row}


def test_evidence_in_the_chart_unit_is_drawn_at_its_value():
    rows = [evidence(evidence_id="e0240", period_start=2017, period_end=2017, value=15199.0,
                     quote="In 2017, China published 15,199 AI papers")]  # fmt: skip
    (marker,) = evidence_markers(rows, unit="count")
    assert (marker.year, marker.value, marker.country) == (2017, 15199.0, "CHN")
    assert "15,199" in marker.text and "line 1" in marker.text


def test_a_year_claim_becomes_a_year_marker():
    rows = [evidence(evidence_id="e0088", country="CHN-USA", period_start=2020, period_end=2020, value=2020.0,
                     unit="year", value_kind="forecast")]  # fmt: skip
    (marker,) = evidence_markers(rows, unit="count")
    assert (marker.year, marker.value, marker.kind) == (2020, None, "forecast")


def test_evidence_in_another_unit_or_undated_is_not_plotted_at_a_value():
    rows = [evidence(period_start=2019, period_end=2019, value=2.23, unit="pct"), evidence(value=41.0, unit="count")]
    markers = evidence_markers(rows, unit="count")
    assert [(m.year, m.value) for m in markers] == [(2019, None)]


def test_the_fan_starts_at_the_last_observation():
    fan = (FanPoint(2024, 110000, 100000, 120000, 95000, 125000),)
    anchored = anchored_fan(CSET_PAPERS["CHN"], fan)
    assert anchored[0] == FanPoint(2023, 103493, 103493, 103493, 103493, 103493) and anchored[1:] == fan
    assert anchored_fan(CSET_PAPERS["CHN"][:-2], fan) == fan  # a gap: not bridged


def test_crossover_sentences_follow_the_status():
    row = {"pair": "CHN-USA", "leader_now": "USA", "status": "projected", "median_year": 2032, "lo_80": 2028,
           "hi_80": None, "lo_95": 2027, "hi_95": None, "horizon": 2035, "p_after_horizon": 0.2}  # fmt: skip
    text = crossover_sentence(row)
    assert "China is projected to pass United States" in text
    assert "2028–after 2035" in text and "80%" in text
    assert "already happened" in crossover_sentence({**row, "status": "already_crossed", "leader_now": "CHN",
                                                     "last_crossing_year": 2017})  # fmt: skip
    assert "not projected" in crossover_sentence({**row, "status": "not_within_horizon"})
    assert "Too little data" in crossover_sentence({**row, "status": "insufficient_data"})
    assert crossover_sentence(None).startswith("No crossover")
    assert interval_text(None, None, 2035) == "–"
