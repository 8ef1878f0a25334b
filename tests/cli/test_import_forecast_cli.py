"""An analyst's own series end to end: `aitrack import`, then forecast, crossovers (--as-of) and backtest on it.

The imported file is real data in the import format (tests/fixtures/README.md, "User import").
"""

from __future__ import annotations


import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aitrack.cli import app
from aitrack.present import crossovers as crossover_presentation
from db.read import Reader
from db.session import make_engine

USER_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "user" / "top500_june_systems.csv"
runner = CliRunner()


@pytest.fixture
def env(monkeypatch, tmp_path, sqlite_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return sqlite_url


def _json(output: str):
    return json.loads(output[output.index("[") :])


def test_import_registers_the_indicator_and_stores_every_row(env):
    result = runner.invoke(app, ["import", str(USER_FILE)])
    assert result.exit_code == 0, result.output
    assert "top500_june_systems" in result.output
    repo = Reader(make_engine(env))
    stored = repo.observations(indicator="top500_june_systems")
    assert stored.height == 44
    assert stored.filter((stored["country"] == "CHN") & (stored["year"] == 2005))["value"].to_list() == [19.0]
    assert "top500_june_systems" in repo.indicator_ids()
    again = runner.invoke(app, ["import", str(USER_FILE)])
    assert again.exit_code == 0
    assert repo.observations(indicator="top500_june_systems").height == 44


@pytest.mark.parametrize(
    ("line", "replacement", "reason"),
    [(5, "top500_june_systems,USA,20x7,", "year"), (8, "top500_june_systems,ZZZ,", "country")],
)
def test_a_bad_file_is_rejected_whole_with_its_row_number(env, tmp_path, line, replacement, reason):
    lines = USER_FILE.read_text().splitlines()
    head, _, tail = lines[line - 1].partition(",")
    fields = lines[line - 1].split(",")
    fields[: len(replacement.rstrip(",").split(","))] = replacement.rstrip(",").split(",")
    lines[line - 1] = ",".join(fields)
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["import", str(bad)])
    assert result.exit_code == 2
    assert "nothing imported" in result.output and reason in result.output
    assert f"row {line - 1}" in result.output  # 1-based data row (the header is line 1)
    repo = Reader(make_engine(env))
    assert repo.observations().height == 0


def test_forecast_crossovers_and_backtest_on_an_imported_series(env):
    assert runner.invoke(app, ["import", str(USER_FILE)]).exit_code == 0
    result = runner.invoke(app, ["crossovers", "--indicator", "top500_june_systems", "--paths", "300",
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    records = _json(result.stdout)
    # The crossover presentation (docs/forecasting.md), also for an analyst's own series.
    assert len(records) == 1 and tuple(records[0]) == crossover_presentation.COLUMNS
    record = records[0]
    assert record["subject"] == "top500_june_systems" and record["pair"] == "CHN-USA"
    assert record["unit"] == "count" and record["challenger_value"] is not None and record["incumbent_year"]
    assert record["status"] in {"already_crossed", "projected", "not_within_horizon"}
    assert record["n_paths"] == 300

    as_of = runner.invoke(app, ["forecast", "--indicator", "top500_june_systems", "--as-of", "2015",
                                "--paths", "300", "--format", "json"])  # fmt: skip
    assert as_of.exit_code == 0, as_of.output
    rows = _json(as_of.stdout)
    assert rows and min(r["year"] for r in rows) == 2016
    for r in rows:
        assert r["lo_95"] <= r["lo_80"] <= r["mean"] <= r["hi_80"] <= r["hi_95"]

    backtest = runner.invoke(app, ["backtest", "--indicator", "top500_june_systems", "--from", "2019",
                                   "--paths", "300", "--format", "json"])  # fmt: skip
    assert backtest.exit_code == 0, backtest.output
    summary = _json(backtest.stdout)[0]
    assert summary["subject"] == "top500_june_systems" and summary["n_as_of"] >= 4
    assert 0.0 <= summary["coverage_80"] <= summary["coverage_95"] <= 1.0


def test_unknown_indicator_is_a_clear_error(env):
    result = runner.invoke(app, ["forecast", "--indicator", "no_such_thing"])
    assert result.exit_code == 2 and "unknown indicator no_such_thing" in result.output


def _with_forecast_columns(tmp_path, scale: str, lower: str, upper: str) -> Path:
    import csv

    with USER_FILE.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header, rows = list(reader.fieldnames), list(reader)
    path = tmp_path / "top500_june_bounded.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[*header, "scale", "lower", "upper"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "unit": "systems", "scale": scale, "lower": lower, "upper": upper})
    return path


def test_an_import_states_its_scale_and_bounds_and_the_forecast_keeps_them(env, tmp_path):
    path = _with_forecast_columns(tmp_path, "logit", "0", "500")
    imported = runner.invoke(app, ["import", str(path)])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(app, ["forecast", "--indicator", "top500_june_systems", "--paths", "300",
                                 "--format", "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = _json(result.stdout)
    assert rows
    for r in rows:
        assert 0.0 <= r["lo_95"] <= r["mean"] <= r["hi_95"] <= 500.0
        # The output says what it did: the (stated, fixed) scale, the weights and the widening per row.
        assert r["scale"] == "logit" and json.loads(r["weights"]) and r["widening_80"] > 0


def test_an_import_whose_bounds_its_values_break_is_rejected(env, tmp_path):
    path = _with_forecast_columns(tmp_path, "", "0", "10")
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code != 0 and "outside its bounds" in result.output
