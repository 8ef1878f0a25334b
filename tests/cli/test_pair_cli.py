"""Any pair and the world panel at the CLI, on a database the real pipeline filled (tests/realdb.py, plus V-Dem so
that the values dimension's pair-dependent members exist): --pair on crossovers, forecast, dimensions and report;
`forecast --countries all`; `race`.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from aitrack.cli import app
from db.read import Reader
from db.session import make_engine
from tests.realdb import SLICE_SOURCES, build_real_db

runner = CliRunner()
SOURCES = (*SLICE_SOURCES, "vdem")


@pytest.fixture(scope="module")
def real_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("pairs")
    url = f"sqlite:///{path / 'aitrack.db'}"
    engine = make_engine(url)
    summary = build_real_db(engine, SOURCES)
    yield url, path, Reader(engine), summary
    engine.dispose()


@pytest.fixture
def env(real_db, monkeypatch):
    url, path, reader, summary = real_db
    monkeypatch.setenv("AITRACK_DATABASE_URL", url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(path / "data"))
    return reader, summary


def _json(output: str):
    start = min(i for i in (output.find("["), output.find("{")) if i >= 0)
    return json.loads(output[start:])


def test_crossovers_of_another_pair_are_an_ad_hoc_run_that_leaves_the_official_one_alone(env):
    reader, summary = env
    official_before = reader.crossovers(pair="CHN-USA")
    result = runner.invoke(app, ["crossovers", "--pair", "IND,CHN", "--indicator", "ai_papers", "--paths", "300",
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _json(result.stdout)
    assert [r["pair"] for r in rows] == ["IND-CHN"]
    row = rows[0]
    # India trails China on CSET's AI papers in every year of the snapshot: a real, projected question.
    assert row["leader_now"] == "CHN" and row["question"] == "When does India pass China?"
    assert row["status"] != "insufficient_data" and 0 <= row["p_by_2030"] <= row["p_by_2035"] <= 1
    assert row["challenger"] == "IND" and row["challenger_value"] > 0
    # The official views still hold the default pair's run, untouched, and nothing of the ad-hoc one.
    assert reader.crossovers(pair="CHN-USA") == official_before
    assert reader.crossovers(pair="IND-CHN") == []
    assert {r["kind"] for r in reader.forecast_runs() if r["pair"] == "IND-CHN"} == {"adhoc"}


@pytest.mark.parametrize(("pair", "says"), [
    ("CHN", "a pair is CHALLENGER,LEADER"), ("CHN,CHN", "two different"), ("WLD,USA", "aggregate"),
    ("XQZ,USA", "not an ISO3 country code"), ("CH1,USA", "not an ISO3 code"),
])  # fmt: skip
@pytest.mark.parametrize("command", ["crossovers", "forecast", "dimensions", "report"])
def test_a_bad_pair_is_one_line_and_exit_code_2(env, command, pair, says):
    result = runner.invoke(app, [command, "--pair", pair])
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_valid_pair_without_data_says_insufficient_data_on_every_row(env):
    # Bouvet Island and Heard Island: ISO countries no source reports.
    result = runner.invoke(app, ["crossovers", "--pair", "BVT,HMD", "--indicator", "ai_papers", "--indicator",
                                 "gerd_pct_gdp", "--paths", "200", "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _json(result.stdout)
    assert len(rows) == 2 and {r["status"] for r in rows} == {"insufficient_data"}


def test_the_eu_is_accepted_as_one_side(env):
    result = runner.invoke(app, ["forecast", "--pair", "EUU,USA", "--indicator", "gerd_pct_gdp", "--paths", "200",
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _json(result.stdout)
    assert {r["pair"] for r in rows} == {"EUU-USA"} and {r["country"] for r in rows} == {"EUU", "USA"}


def test_dimensions_of_another_pair_rederive_the_pair_dependent_members_and_say_what_is_missing(env):
    reader, _ = env
    result = runner.invoke(app, ["dimensions", "--pair", "IND,CHN", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = {d["dimension"]: d for d in _json(result.stdout)}
    assert {d["pair"] for d in out.values()} == {"IND-CHN"}
    values = [y for y in out["values"]["years"] if y["status"] == "ok"]
    # India is far closer to most states' democracy level than China: the values share favours India. The stored
    # series (derived for CHN vs USA) would give India no value at all.
    assert values and values[-1]["score"] > 0.5 and values[-1]["leader"] == "IND"
    # OpenAlex is not in this database: coverage names the members neither side has.
    assert "ai_works_openalex" in out["cohesion"]["members_without_data"]["IND"]
    # Nothing was stored for the pair: the official scores are the default pair's alone.
    assert set(reader.dimension_scores()[0]["pair"].unique().to_list()) == {"CHN-USA"}
    table = runner.invoke(app, ["dimensions", "--pair", "IND,CHN"])
    assert table.exit_code == 0 and "IND's share of IND + CHN" in table.output and "coverage: cohesion" in table.output


def test_report_of_a_pair_with_nothing_published_says_how_to_publish_it(env, tmp_path):
    result = runner.invoke(app, ["report", "--pair", "IND,CHN", "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "--publish" in result.output
    assert not (tmp_path / "r.html").exists()


def test_forecast_countries_all_forecasts_the_world_panel_without_aggregates(env):
    result = runner.invoke(app, ["forecast", "--countries", "all", "--indicator", "ai_papers", "--paths", "200",
                                 "--format", "csv"])  # fmt: skip
    assert result.exit_code == 0, result.output
    import io

    import polars as pl

    body = result.stdout[result.stdout.index("subject,"):]
    table = pl.read_csv(io.StringIO(body))
    countries = set(table["country"].to_list())
    assert len(countries) > 100 and {"CHN", "USA", "IND", "DEU"} <= countries
    assert not countries & {"WLD", "EUU", "XUC"}
    ordered = table.filter(~((pl.col("lo_95") <= pl.col("lo_80")) & (pl.col("lo_80") <= pl.col("mean"))
                             & (pl.col("mean") <= pl.col("hi_80")) & (pl.col("hi_80") <= pl.col("hi_95"))))
    assert ordered.height == 0
    assert "without a forecast" in result.output and "at least 8 needed" in result.output
    assert "intervals calibrated on official run" in result.output


def test_race_on_the_real_database(env):
    result = runner.invoke(app, ["race", "--indicator", "ai_papers", "--top", "10", "--paths", "500",
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    body = _json(result.stdout)
    countries = body["countries"]
    assert len(countries) == 10 and countries[:2] == ["CHN", "USA"]  # CSET 2023: China 103k papers, the US 50k
    latest = [body["latest"][c]["value"] for c in countries]
    assert latest == sorted(latest, reverse=True)
    for year in ("2030", "2035"):
        m = np.array([[np.nan if v is None else v for v in row] for row in body["matrices"][year]])
        off = ~np.eye(10, dtype=bool)
        assert ((m[off] >= 0) & (m[off] <= 1)).all()
        assert np.all(m[off] + m.T[off] <= 1 + 1e-9)
    # The leader by a factor of two is more likely than not still ahead in 2030; France (10th) rarely passes it.
    m2030 = body["matrices"]["2030"]
    assert m2030[0][1] > 0.5 and m2030[9][0] < 0.5
    # Calibrated on the official run, not on the panel's small, noisy series: the US (5.6x Canada's papers in 2023)
    # stays ahead of Canada in 2035 on most paths (pooled over the panel, Canada was ahead on 40 % of them).
    usa, can = countries.index("USA"), countries.index("CAN")
    assert body["matrices"]["2035"][usa][can] > 0.8
    table = runner.invoke(app, ["race", "--indicator", "ai_papers", "--top", "5", "--paths", "300"])
    assert table.exit_code == 0 and "P(row ahead of column in 2030)" in table.output
    assert "intervals calibrated on official run" in table.output
    csv = runner.invoke(app, ["race", "--indicator", "ai_papers", "--top", "3", "--paths", "300", "--format", "csv",
                              "--years", "2035"])  # fmt: skip
    assert csv.stdout.splitlines()[0] == "indicator,year,row,column,p_row_ahead,p_tie,row_ahead_now"
    assert len(csv.stdout.strip().splitlines()) == 1 + 6


def test_race_says_which_top_countries_have_no_forecast(env):
    # Epoch's large-scale systems: seven years for every country here, fewer than the eight a forecast needs.
    result = runner.invoke(app, ["race", "--indicator", "large_scale_ai_systems", "--top", "3", "--paths", "200"])
    assert result.exit_code == 0, result.output
    assert "no forecast for USA: 7 point(s); at least 8 needed" in result.output
    assert "none of the top 3 countries has a forecast" in result.output


def test_race_refuses_bad_input(env):
    assert runner.invoke(app, ["race", "--indicator", "nope"]).exit_code == 2
    bad_years = runner.invoke(app, ["race", "--indicator", "ai_papers", "--years", "2030,2090"])
    assert bad_years.exit_code == 2 and "common horizon" in bad_years.output


def test_forecast_countries_refuses_a_code_that_is_no_country(env):
    result = runner.invoke(app, ["forecast", "--countries", "IND,XXX", "--indicator", "ai_papers"])
    assert result.exit_code == 2
    assert "XXX is not an ISO 3166 alpha-3 country code" in result.output and "Traceback" not in result.output
