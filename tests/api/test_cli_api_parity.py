"""The CLI and the API over the same database give the same rows for the same filters, and the same message for the
same mistake (exit 2 where the API answers 404 or 422)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from aitrack.api.schemas import MAX_LIMIT
from aitrack.cli import app

runner = CliRunner()


@pytest.fixture
def cli(fixture_db, monkeypatch):
    monkeypatch.setenv("AITRACK_DATABASE_URL", fixture_db.url)

    def invoke(*args: str):
        return runner.invoke(app, list(args))

    return invoke


EVIDENCE_FILTERS = [
    {}, {"indicator": "ai_papers"}, {"indicator": "uncatalogued"}, {"indicator": "ai_papers_top10pct", "kind": "forecast"},
    {"kind": "target"}, {"kind": "measured", "country": "chn"}, {"country": "CHN-USA"},
    {"indicator": "ai_industry_size", "country": "CHN", "kind": "target"},
]  # fmt: skip


@pytest.mark.parametrize("filters", EVIDENCE_FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in f.items()) or "all")
def test_evidence_rows_are_the_same(cli, client, filters):
    args = [part for name, value in filters.items() for part in (f"--{name}", value)]
    result = cli("evidence", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    api = client.get("/api/evidence", params={**filters, "limit": MAX_LIMIT})
    assert json.loads(result.stdout) == api.json()
    assert api.json() or filters.get("country") == "chn"
    as_csv = cli("evidence", "--format", "csv", *args)
    assert as_csv.stdout.encode() == client.get("/api/evidence", params={**filters, "limit": MAX_LIMIT,
                                                                      "format": "csv"}).content  # fmt: skip


def test_crossovers_are_the_same_rows_words_and_numbers(cli, client):
    result = cli("crossovers", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == client.get("/api/crossovers").json()
    as_csv = cli("crossovers", "--format", "csv")
    assert as_csv.stdout.encode() == client.get("/api/crossovers", params={"format": "csv"}).content


def test_the_crossover_table_prints_the_presentations_cells(cli, client):
    from aitrack.present.crossovers import CrossoverView, display_table

    rows = client.get("/api/crossovers").json()
    result = cli("crossovers")
    assert result.exit_code == 0, result.output
    views = [CrossoverView(**{**r, "run_created_at": None}) for r in rows]
    headers, cells = display_table(views)
    lines = result.stdout.splitlines()
    assert all(h in lines[2] for h in headers)  # one header line: nothing wrapped
    for row in cells:
        line = next(line for line in lines if line.strip().startswith(row[0] + " "))
        at = 0
        for cell in row:  # every cell, whole and in order, on the subject's one line
            found = line.find(cell, at)
            assert found >= 0, (cell, line)
            at = found + len(cell)


@pytest.mark.parametrize(("indicator", "country", "year"), [("ai_papers", "CHN", "2023"), ("gerd_pct_gdp", "usa", "2021"),
                                                             ("unga_states_closer", "CHN", "2000")])  # fmt: skip
def test_provenance_is_the_same(cli, client, indicator, country, year):
    result = cli("provenance", indicator, country, year, "--format", "json")
    assert result.exit_code == 0, result.output
    api = client.get("/api/provenance", params={"indicator": indicator, "country": country, "year": year})
    assert json.loads(result.stdout) == api.json() and api.json()


def test_provenance_table_prints_the_payload_chain(cli):
    result = cli("provenance", "ai_papers", "CHN", "2023")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "103k count (measured)" in out and "current value" in out and "CC BY 4.0" in out
    assert "https://ourworldindata.org/grapher/annual-scholarly-publications-on-artificial-intelligence" in out
    sha = next(word for word in out.split() if len(word) == 64)
    assert f"aitrack payload {sha} > {sha[:12]}.raw" in out
    raw = cli("payload", sha)
    assert raw.exit_code == 0 and raw.stdout_bytes.startswith(b"Entity,Code,Year")


MISTAKES = [
    (("evidence", "--kind", "bogus"), ("/api/evidence", {"kind": "bogus"}), 422),
    (("evidence", "--indicator", "bogus"), ("/api/evidence", {"indicator": "bogus"}), 404),
    (("evidence", "--country", "China"), ("/api/evidence", {"country": "China"}), 422),
    (("provenance", "ai_paperz", "CHN", "2023"), ("/api/provenance", {"indicator": "ai_paperz", "country": "CHN",
                                                                      "year": "2023"}), 404),  # fmt: skip
    (("provenance", "ai_papers", "CHN", "1901"), ("/api/provenance", {"indicator": "ai_papers", "country": "CHN",
                                                                      "year": "1901"}), 404),  # fmt: skip
    (("provenance", "ai_papers", "CHN", "20x3"), ("/api/provenance", {"indicator": "ai_papers", "country": "CHN",
                                                                      "year": "20x3"}), 422),  # fmt: skip
    (("provenance", "ai_papers", "CHINA", "2023"), ("/api/provenance", {"indicator": "ai_papers", "country": "CHINA",
                                                                        "year": "2023"}), 422),  # fmt: skip
]


@pytest.mark.parametrize(("args", "request_", "status"), MISTAKES, ids=lambda v: " ".join(v) if isinstance(v, tuple) and isinstance(v[0], str) and not v[0].startswith("/") else None)
def test_the_same_mistake_gets_the_same_message(cli, client, args, request_, status):
    path, params = request_
    api = client.get(path, params=params)
    assert api.status_code == status
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {api.json()['detail']}"
