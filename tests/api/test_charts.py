"""Server-side SVG charts, their axes and the subject page's model: properties over generated inputs, and real series.

Example values are real: CSET/OWID AI publications CHN/USA 2015–2023, TOP500 systems per country (November lists
1993–2025, data/snapshot/top500) with the official run's 2038–2040 CHN forecast rows, Epoch/OWID large-scale AI systems
(cumulative, 2026 provisional), and seed evidence rows e0240 (CHN 2017, 15,199 papers) and e0088 (AI2: China passes the
US in top-10% papers by 2020).
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
)
from aitrack.dashboard.legend import legend_items
from aitrack.dashboard.scales import linear_ticks, log_ticks, use_log, value_domain, year_ticks
from aitrack.dashboard.subjects import anchored_fan, crossover_sentence, evidence_markers
from aitrack.present.formatting import interval_text

SVG = "{http://www.w3.org/2000/svg}"
CSET_PAPERS = {
    "CHN": [(2015, 22041), (2016, 21856), (2017, 26357), (2018, 35468), (2019, 47042), (2020, 54200), (2021, 71120),
            (2022, 82032), (2023, 103493)],
    "USA": [(2015, 20506), (2016, 22419), (2017, 25382), (2018, 31876), (2019, 39790), (2020, 47187), (2021, 50596),
            (2022, 43539), (2023, 50039)],
}  # fmt: skip
TOP500 = {
    "CHN": [0, 0, 1, 1, 0, 0, 1, 0, 3, 5, 10, 17, 17, 18, 10, 15, 21, 41, 74, 72, 63, 61, 109, 171, 202, 227, 228, 214,
            173, 162, 104, 63, 40],
    "USA": [236, 242, 261, 267, 265, 290, 268, 234, 230, 228, 246, 266, 305, 309, 283, 290, 277, 274, 263, 251, 264, 231,
            199, 171, 143, 109, 117, 113, 149, 127, 161, 173, 171],
}  # fmt: skip
# The official run's rows for China, 2038–2040: the 80% band reaches 38k while the history tops out at 309.
TOP500_CHN_FAN = (FanPoint(2038, 151.2, 0.438, 19776.8, 0.0, 138202.4), FanPoint(2039, 169.7, 0.418, 28022.5, 0.0, 198144.8),
                  FanPoint(2040, 173.4, 0.198, 38016.5, 0.0, 304745.6))  # fmt: skip
LARGE_SCALE = {"CHN": [(2019, 0), (2020, 0), (2021, 3), (2022, 5), (2023, 52), (2024, 112), (2025, 190)],
               "USA": [(2019, 0), (2020, 2), (2021, 4), (2022, 26), (2023, 74), (2024, 155), (2025, 214)]}  # fmt: skip
LARGE_SCALE_PROVISIONAL = {"CHN": (2026, 192), "USA": (2026, 215)}

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
        series=tuple(series), crossover=band, evidence=tuple(markers), reference=draw(st.one_of(st.none(), st.just(0.5))),
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


def test_a_chart_of_values_near_zero_stays_linear():
    # A positive value below 1e-300 put a tick at 10**-324 == 0.0 and the log axis failed (found by the property test).
    spec = ChartSpec(title="t", unit="count", series=(CountrySeries("CHN", history=((2020, 5e-324), (2021, 1.0))),))
    frame, ticks, _, _ = chart_frame(spec)
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
def test_log_ticks_stay_inside_the_range_the_data_use(a, b):
    ticks = log_ticks(a, b)
    lo, hi = min(a, b), max(a, b)
    assert ticks == sorted(ticks) and 2 <= len(ticks) <= 9
    assert all(lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9) for t in ticks)


def test_log_ticks_of_a_wide_range_are_powers_of_ten_inside_it():
    # GDP per capita, CHN 1960 (71 US$) to USA 2025 (90,027 US$): never 0.01 or 1M, which no value is near.
    assert log_ticks(71.06, 90026.5) == [100.0, 1000.0, 10000.0]
    assert log_ticks(3.0, 300.0) == [3.0, 10.0, 30.0, 100.0, 300.0]


def test_log_only_where_the_observations_span_orders_of_magnitude():
    assert use_log([71.06, 90026.5])  # GDP per capita: three decades
    assert not use_log([20506, 103493])  # CSET papers: under one decade
    assert not use_log(TOP500["CHN"] + TOP500["USA"])  # zeros: no log axis
    assert not use_log([0.0, 10.0])


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
    frame, y_ticks, _, _ = chart_frame(spec)
    # The axis spans history and the 80% band (to 140k); the 95% band (to 160k) is clipped and the legend says so.
    assert y_ticks[0] == 0 and 140000 <= y_ticks[-1] < 160000
    assert "80% and 95% intervals (clipped at the axis)" in [i.label for i in legend_items(spec)]
    # CHN 2023 (103,493) is drawn above USA 2023 (50,039): a smaller screen y.
    points = {c.find(f"{SVG}title").text: float(c.attrib["cy"]) for c in root.iter(f"{SVG}circle")}
    assert points["China 2023: 103k"] < points["United States 2023: 50k"]


def test_a_missing_year_breaks_the_history_line():
    history = tuple(p for p in CSET_PAPERS["USA"] if p[0] != 2019)
    spec = ChartSpec(title="gap", unit="count", series=(CountrySeries("USA", history=history),))
    root = ET.fromstring(fan_chart(spec))
    assert len([p for p in root.iter(f"{SVG}polyline") if p.attrib["class"] == "history"]) == 2


def test_top500_history_stays_readable_beside_an_exploding_forecast():
    history = {c: tuple(zip(range(1993, 2026), v)) for c, v in TOP500.items()}
    spec = ChartSpec(title="TOP500", unit="count", series=(
        CountrySeries("CHN", history=history["CHN"], fan=TOP500_CHN_FAN), CountrySeries("USA", history=history["USA"])))
    frame, ticks, _, domain = chart_frame(spec)
    assert not frame.log and frame.y_lo == 0
    # The axis may stretch beyond the observed maximum (309) by at most 0.75 of the observed span, not to 38k.
    assert 309 <= frame.y_hi <= 309 * 1.75 + ticks[1] - ticks[0] and domain.clipped
    # The history uses more than half the plot's height.
    root = ET.fromstring(fan_chart(spec))
    ys = [float(c.attrib["cy"]) for c in root.iter(f"{SVG}circle") if c.attrib.get("class") == "point"]
    assert (max(ys) - min(ys)) > 0.5 * (frame.height - frame.top - frame.bottom)
    assert "80% and 95% intervals (clipped at the axis)" in [i.label for i in legend_items(spec)]


def test_provisional_points_are_drawn_apart_and_explained():
    series = tuple(CountrySeries(c, history=tuple(LARGE_SCALE[c]), provisional=(LARGE_SCALE_PROVISIONAL[c],))
                   for c in ("CHN", "USA"))  # fmt: skip
    spec = ChartSpec(title="Large-scale AI systems", unit="count", series=series, subject="large_scale_ai_systems",
                     provenance_href="/provenance")  # fmt: skip
    root = ET.fromstring(fan_chart(spec))
    provisional = [r for r in root.iter(f"{SVG}rect") if r.attrib.get("class") == "provisional"]
    assert len(provisional) == 2 and all("provisional" in r.find(f"{SVG}title").text for r in provisional)
    lines = [p.attrib["points"] for p in root.iter(f"{SVG}polyline") if p.attrib["class"] == "history"]
    x_2026 = float(provisional[0].attrib["x"]) + float(provisional[0].attrib["width"]) / 2
    assert all(float(pt.split(",")[0]) < x_2026 - 1 for line in lines for pt in line.split())  # not on the line
    links = [a.attrib["href"] for a in root.iter(f"{SVG}a")]
    assert "/provenance?indicator=large_scale_ai_systems&country=CHN&year=2026" in links
    labels = [i.label for i in legend_items(spec)]
    assert "provisional: a partial year, not used in the forecast" in labels
    assert "click a point for its provenance" in labels


def test_nowcast_points_are_marked_and_explained():
    fan = (FanPoint(2024, 60000, 55000, 65000, 50000, 70000, nowcast=True), FanPoint(2025, 65000, 58000, 72000, 52000, 80000))
    spec = ChartSpec(title="nowcast", unit="count", series=(CountrySeries("USA", history=tuple(CSET_PAPERS["USA"]), fan=fan),))
    root = ET.fromstring(fan_chart(spec))
    (mark,) = [r for r in root.iter(f"{SVG}rect") if r.attrib.get("class") == "nowcast"]
    assert "nowcast" in mark.find(f"{SVG}title").text and "2024" in mark.find(f"{SVG}title").text
    assert "nowcast: a past year not yet published" in [i.label for i in legend_items(spec)]


def test_the_open_end_of_a_crossover_band_is_written_out_and_in_the_legend():
    spec = ChartSpec(title="t", unit="count", series=(CountrySeries("CHN", history=tuple(CSET_PAPERS["CHN"])),),
                     crossover=CrossoverBand(2033, None, None, 2040))  # fmt: skip
    svg = fan_chart(spec)
    assert ">after 2040</text>" in svg and "→" not in svg
    assert "“after 2040”: the interval runs past the horizon" in [i.label for i in legend_items(spec)]


def test_seed_markers_are_not_coloured_as_a_country_and_have_a_legend():
    markers = (EvidenceMarker("e0240", 2017, 15199.0, "CHN", "measured", "In 2017, China published 15,199 AI papers"),
               EvidenceMarker("e0088", 2020, None, "CHN-USA", "forecast", "top 10 per cent AI papers by 2020"))
    spec = ChartSpec(title="t", unit="count", series=(CountrySeries("CHN", history=tuple(CSET_PAPERS["CHN"])),),
                     evidence=markers)  # fmt: skip
    root = ET.fromstring(fan_chart(spec))
    diamond = next(p for p in root.iter(f"{SVG}polygon") if "evidence-point" in p.attrib.get("class", ""))
    assert diamond.attrib["fill"] not in ("#D55E00", "#0072B2") and diamond.attrib["stroke"] not in ("#D55E00", "#0072B2")
    labels = [i.label for i in legend_items(spec)]
    assert "seed figure (measured or estimate)" in labels and "seed claim dated to a year" in labels


def test_a_share_axis_stays_within_its_bounds():
    domain = value_domain([0.35, 0.41], [0.2, 0.9, 1.3], unit="share", reference=0.5)
    assert 0 <= domain.lo and domain.hi <= 1 and domain.clipped


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


def test_crossover_sentences_use_the_presentations_words():
    import json
    from pathlib import Path

    from aitrack.present.crossovers import CrossoverView

    golden = json.loads((Path(__file__).parents[1] / "golden" / "crossover_presentation.json").read_text())
    views = {g["row"]["subject"]: CrossoverView(**{**g["row"], "run_created_at": None}) for g in golden}
    papers = crossover_sentence(views["ai_papers"])
    assert papers.startswith("Does the US regain the lead? Status: passed in 2017.")
    assert "80% interval 2034–after 2038" in papers and "probability by 2030 8%" in papers
    assert crossover_sentence(views["large_scale_ai_systems"]).startswith("When does China pass the US? Status: projected by 2040.")
    assert "Too little data" in crossover_sentence(views["ai_bills_passed"])
    assert crossover_sentence(None).startswith("No crossover")
    assert interval_text(None, None, 2035, open_ended=False) == "–"
    assert interval_text(2033, None, 2040, open_ended=True) == "2033–after 2040"
