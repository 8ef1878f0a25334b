"""The read-only HTTP API on the fixture database: rows, CSV, pagination, validation, caching headers, methods.

Expected values are the real ones the fixture was built from: CSET/OWID AI publications 2023 (CHN 103493, USA 50039)
and World Bank GB.XPD.RSDV.GD.ZS 2023 (CHN 2.57729, USA 3.44716); see tests/api/fixtures/README.md.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.routing import APIRoute

from aitrack.api import create_app
from aitrack.api.schemas import COLUMNS, MAX_LIMIT

LIST_ENDPOINTS = {
    "/api/indicators": "indicators",
    "/api/observations": "observations",
    "/api/forecasts": "forecasts",
    "/api/crossovers": "crossovers",
    "/api/dimensions": "dimensions",
    "/api/evidence": "evidence",
}


def csv_rows(body: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(body))
    return list(reader.fieldnames or []), list(reader)


def as_csv_cell(value) -> str:
    """What a JSON value reads as in the CSV: nested values as JSON text, formula-looking text behind a quote."""
    import json

    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return str(value)


def test_health_names_database_and_latest_current_run(client, fixture_db):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["database"] == fixture_db.repo.dialect
    assert body["schema_revision"]
    assert body["latest_forecast_run"] == fixture_db.summary.current_run_id


def test_observations_return_the_real_values(client):
    rows = [
        row for country in ("CHN", "USA")
        for row in client.get("/api/observations", params={"indicator": "ai_papers", "country": country,
                                                           "from": 2023, "to": 2023}).json()
    ]  # fmt: skip
    assert {(r["country"], r["value"]) for r in rows} == {("CHN", 103493.0), ("USA", 50039.0)}
    assert all(r["source"] == "owid" and r["unit"] == "count" for r in rows)
    gerd = client.get("/api/observations", params={"indicator": "gerd_pct_gdp", "country": "usa", "from": 2023}).json()
    assert [(r["country"], r["year"], r["value"]) for r in gerd] == [("USA", 2023, 3.44716)]


def test_observations_filters_match_the_latest_view(client, fixture_db):
    expected = fixture_db.repo.latest_observations(indicators=["gerd_pct_gdp"], countries=["CHN"], kinds=None)
    expected = expected.filter(expected["year"].is_between(2010, 2015))
    rows = client.get(
        "/api/observations", params={"indicator": "gerd_pct_gdp", "country": "CHN", "from": 2010, "to": 2015}
    ).json()
    assert [(r["year"], r["value"]) for r in rows] == list(zip(expected["year"], expected["value"]))
    assert list(rows[0]) == list(COLUMNS["observations"])


def test_projection_kind_is_kept_apart(client):
    rows = client.get("/api/observations", params={"indicator": "ai_private_investment", "kind": "projection"}).json()
    # CSET's "(Projected)" column: 2025 only, for every country it covers, China and the US among them.
    assert {r["year"] for r in rows} == {2025} and {"CHN", "USA"} <= {r["country"] for r in rows}
    assert all(r["value_kind"] == "projection" for r in rows)


@pytest.mark.parametrize("path", sorted(LIST_ENDPOINTS))
def test_csv_has_the_same_rows_and_columns_as_json(client, path):
    as_json = client.get(path).json()
    response = client.get(path, params={"format": "csv"})
    assert response.headers["content-type"].startswith("text/csv")
    header, rows = csv_rows(response.text)
    assert header == list(COLUMNS[LIST_ENDPOINTS[path]])
    assert len(rows) == len(as_json) > 0
    for row, obj in zip(rows, as_json):
        assert row == {k: as_csv_cell(v) for k, v in obj.items()}


def test_pagination_slices_the_full_list(client):
    full = client.get("/api/evidence").json()
    total = int(client.get("/api/evidence").headers["x-total-count"])
    assert total == len(full) > 100
    pages, offset = [], 0
    while True:
        response = client.get("/api/evidence", params={"limit": 100, "offset": offset})
        assert int(response.headers["x-total-count"]) == total
        pages += response.json()
        links = dict(
            (rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["link"])
        )  # fmt: skip
        if "next" not in links:
            break
        assert f"offset={offset + 100}" in links["next"]
        offset += 100
    assert pages == full
    assert "offset=400" in links["last"]


def test_default_limit_and_maximum(client):
    assert client.get("/api/evidence", params={"limit": MAX_LIMIT}).status_code == 200
    too_many = client.get("/api/evidence", params={"limit": MAX_LIMIT + 1})
    assert too_many.status_code == 422
    assert "limit" in too_many.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params", "valid_member"),
    [
        ("/api/observations", {"indicator": "ai_paperz"}, "ai_papers"),
        ("/api/forecasts", {"subject": "cohesionn"}, "cohesion"),
        ("/api/forecasts", {"run": "no-such-run"}, "CURRENT_RUN"),
        ("/api/crossovers", {"subject": "nothing"}, "gerd_pct_gdp"),
        ("/api/dimensions", {"dimension": "power"}, "legitimacy"),
        ("/api/evidence", {"indicator": "nothing"}, "uncatalogued"),
    ],
)
def test_unknown_ids_are_404_with_the_valid_ones(client, fixture_db, path, params, valid_member):
    if valid_member == "CURRENT_RUN":
        valid_member = fixture_db.summary.current_run_id
    response = client.get(path, params=params)
    assert response.status_code == 404
    body = response.json()
    assert list(params.values())[0] in body["detail"]
    assert valid_member in body["valid"]
    assert body["valid"] == sorted(body["valid"])


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "abc"}, "from: must be a whole number written with digits only"),
        ({"from": 1700}, "from: Input should be greater than or equal to 1800"),
        ({"to": 2500}, "to: Input should be less than or equal to 2200"),
        ({"from": 2020, "to": 2010}, "from (2020) is after to (2010)"),
        ({"year_from": 2020}, "the parameter is 'from'"),
        ({"country": "China"}, "country: String should match pattern"),
        ({"kind": "guess"}, "kind: Input should be"),
        ({"indicatr": "ai_papers"}, "indicatr: Extra inputs are not permitted"),
        ({"format": "xml"}, "format: Input should be 'json' or 'csv'"),
        ({"offset": -1}, "offset: Input should be greater than or equal to 0"),
        ({"from": "2020.0"}, "from: must be a whole number"),
        ({"limit": "1_000"}, "limit: must be a whole number"),
        ({"to": " 2020"}, "to: must be a whole number"),
    ],
)
def test_bad_parameters_are_422_with_a_message(client, params, fragment):
    response = client.get("/api/observations", params=params)
    assert response.status_code == 422
    body = response.json()
    assert fragment in body["detail"]
    assert body["errors"] and all({"loc", "msg", "type"} <= set(e) for e in body["errors"])


def test_etag_and_cache_control(client):
    first = client.get("/api/crossovers")
    assert first.headers["cache-control"] == "public, max-age=60"
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}(-gz)?"', etag)
    assert client.get("/api/crossovers").headers["etag"] == etag
    assert client.get("/api/crossovers", params={"format": "csv"}).headers["etag"] != etag
    unchanged = client.get("/api/crossovers", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert client.get("/api/crossovers", headers={"If-None-Match": '"other"'}).status_code == 200


def test_large_bodies_are_gzipped_for_clients_that_accept_it(client):
    params = {"indicator": "gerd_pct_gdp"}
    plain = client.get("/api/observations", params=params, headers={"Accept-Encoding": "identity"})
    packed = client.get("/api/observations", params=params, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert packed.content == plain.content  # the client decoded it: same bytes as the identity body
    assert int(packed.headers["content-length"]) < len(plain.content) / 3
    assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
    refused = client.get("/api/observations", params=params, headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers
    small = client.get("/api/forecasts", params={"limit": 1}, headers={"Accept-Encoding": "gzip"})
    assert len(small.content) < 1024 and "content-encoding" not in small.headers  # under 1 KB: not worth compressing


def test_head_gives_the_headers_without_a_body(client):
    get = client.get("/api/observations", params={"indicator": "ai_papers"})
    head = client.head("/api/observations", params={"indicator": "ai_papers"})
    assert head.status_code == 200 and head.content == b""
    for name in ("etag", "x-total-count", "content-type", "content-length"):
        assert head.headers[name] == get.headers[name]


def test_no_route_accepts_a_writing_method(client, fixture_db):
    app = create_app(fixture_db.repo)
    api_routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert {p for r in api_routes for p in [r.path]} >= set(LIST_ENDPOINTS) | {"/api/health", "/"}
    for route in app.routes:
        assert set(getattr(route, "methods", None) or {"GET"}) <= {"GET", "HEAD"}, route
    for path in list(LIST_ENDPOINTS) + ["/api/health", "/"]:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            assert client.request(method, path).status_code == 405, (method, path)


def test_forecasts_default_to_the_latest_current_run(client, fixture_db):
    rows = client.get("/api/forecasts", params={"limit": MAX_LIMIT}).json()
    assert {r["run_id"] for r in rows} == {fixture_db.summary.current_run_id}
    for r in rows:
        assert r["lo_95"] <= r["lo_80"] <= r["mean"] <= r["hi_80"] <= r["hi_95"]
    backtest = client.get(
        "/api/forecasts", params={"run": fixture_db.summary.backtest_run_id, "subject": "ai_papers", "country": "CHN"}
    ).json()
    assert backtest and {r["run_id"] for r in backtest} == {fixture_db.summary.backtest_run_id}
    # The backtest run used data up to 2019 only, so its first forecast year is 2020.
    assert min(r["year"] for r in backtest) == 2020


def test_crossovers_are_the_presentation_of_the_view(client, fixture_db):
    rows = client.get("/api/crossovers").json()
    view = fixture_db.repo.crossovers()
    assert [r["subject"] for r in rows] == [cx.subject for cx in view]
    # Read from the record, never recomputed: status, years and probabilities are the stored ones.
    for row, cx in zip(rows, view):
        assert (row["status"], row["leader_now"], row["median_year"], row["lo_80"], row["hi_80"], row["lo_95"],
                row["hi_95"], row["horizon"], row["model"], row["run_id"]) == (
            cx.status, cx.leader_now, cx.median_year, cx.lo_80, cx.hi_80, cx.lo_95, cx.hi_95, cx.horizon, cx.model,
            cx.run_id)  # fmt: skip
        assert row["p_by_2030"] == cx.p_by.get(2030) and row["p_by_2035"] == cx.p_by.get(2035)
        assert row["historical_crossings"] == list(cx.historical_crossings) and row["notes"] == list(cx.notes)
    by_subject = {r["subject"]: r for r in rows}
    papers = by_subject["ai_papers"]
    assert papers["leader_now"] == "CHN"  # CSET: 103493 vs 50039 in 2023
    assert papers["question"] == "Does the US regain the lead?"
    assert (papers["challenger_value"], papers["challenger_year"], papers["incumbent_value"]) == (103493.0, 2023, 50039.0)
    assert papers["unit"] == "count" and papers["name"].startswith("AI scholarly publications")
    gerd = by_subject["gerd_pct_gdp"]
    assert gerd["leader_now"] == "USA" and gerd["question"] == "When does China pass the US?"
    assert (gerd["challenger_value"], gerd["incumbent_value"]) == (2.57729, 3.44716)  # World Bank 2023


def test_dimensions_report_coverage(client):
    rows = client.get("/api/dimensions", params={"dimension": "cohesion"}).json()
    assert rows and {r["dimension"] for r in rows} == {"cohesion"}
    for r in rows:
        assert 0 <= r["n_present"] <= r["n_indicators"]
        assert (r["score"] is None) == (r["status"] == "insufficient_data")


def test_evidence_filters(client):
    rows = client.get("/api/evidence", params={"indicator": "ai_papers_top10pct", "kind": "forecast"}).json()
    assert rows and all(r["indicator"] == "ai_papers_top10pct" and r["value_kind"] == "forecast" for r in rows)
    assert any("2020" in r["quote"] for r in rows)


def test_openapi_and_docs_page_work_offline(client):
    schema = client.get("/openapi.json").json()
    assert set(LIST_ENDPOINTS) | {"/api/health"} <= set(schema["paths"])
    assert all(set(methods) == {"get"} for methods in schema["paths"].values())
    docs = client.get("/docs")
    assert docs.status_code == 200
    for path in LIST_ENDPOINTS:
        assert path in docs.text
    assert not re.search(r'(src|href)="https?://', docs.text)


def test_static_assets_and_unknown_file(client):
    assert client.get("/static/dashboard.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/dashboard.js").status_code == 200
    assert client.get("/static/../api.py").status_code == 404


def test_observations_are_cut_from_memory_exactly_as_the_database_would(client, fixture_db):
    """The API filters and pages the in-memory relation (one indicator's, or the whole view without `indicator`);
    the Reader's SQL WHERE is the reference (docs/decisions.md, "One way of filtering observations")."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from aitrack.api.serialize import shape_rows

    repo = fixture_db.repo
    with_values = sorted(i for i in repo.indicator_ids() if repo.latest_observation_page(indicators=[i], limit=1)[1])
    assert len(with_values) >= 3
    years = st.one_of(st.none(), st.integers(1990, 2030))

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        indicator=st.sampled_from([None, *with_values]), country=st.sampled_from([None, "CHN", "USA", "XUC", "FRA"]),
        year_from=years, year_to=years, kind=st.sampled_from([None, "measured", "projection", "provisional"]),
        limit=st.integers(1, 40), offset=st.one_of(st.integers(0, 60), st.integers(0, 20_000)),
    )  # fmt: skip
    def check(indicator, country, year_from, year_to, kind, limit, offset):
        if year_from is not None and year_to is not None and year_from > year_to:
            year_from, year_to = year_to, year_from
        query = {"indicator": indicator, "country": country, "from": year_from, "to": year_to, "kind": kind,
                 "limit": limit, "offset": offset}  # fmt: skip
        response = client.get("/api/observations", params={k: v for k, v in query.items() if v is not None})
        assert response.status_code == 200, response.text
        rows, total = repo.latest_observation_page(
            indicators=None if indicator is None else [indicator], countries=None if country is None else [country],
            year_from=year_from,
            year_to=year_to, kinds=None if kind is None else [kind], limit=limit, offset=offset,
        )  # fmt: skip
        assert response.json() == shape_rows(rows.to_dicts(), COLUMNS["observations"])
        assert int(response.headers["x-total-count"]) == total

    check()


def test_crossover_rows_are_cut_from_memory_exactly_as_the_database_would(client, fixture_db):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from aitrack.api.serialize import shape_rows
    from aitrack.present import crossovers
    from indicators.catalog import load_catalog

    repo = fixture_db.repo
    subjects = sorted({cx.subject for cx in repo.crossovers()})
    assert len(subjects) >= 2

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(subject=st.sampled_from([None, *subjects]), limit=st.integers(1, 20), offset=st.integers(0, 30))
    def check(subject, limit, offset):
        query = {"subject": subject, "limit": limit, "offset": offset}
        response = client.get("/api/crossovers", params={k: v for k, v in query.items() if v is not None})
        assert response.status_code == 200, response.text
        records = repo.crossovers(subject=subject)
        rows = [v.as_dict() for v in crossovers.load(repo, load_catalog(), records)]
        total, rows = len(rows), rows[offset : offset + limit]
        assert response.json() == shape_rows(rows, COLUMNS["crossovers"])
        assert int(response.headers["x-total-count"]) == total

    check()
