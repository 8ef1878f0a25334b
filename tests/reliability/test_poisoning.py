"""Issue 14, failure 2: one analyst row must not poison the pipeline. One set of value rules (contracts.validation)
holds for the import, the fetchers and the writer, the same on SQLite and PostgreSQL: a file with one bad row is
rejected whole, with the row and the rule, nothing is registered or stored, and `build` goes on working.

Rows are real: the World Bank's GB.XPD.RSDV.GD.ZS (CHN 2020 2.35712 % GDP, tests/fixtures/live/worldbank) and the
TOP500 June counts of tests/fixtures/user/top500_june_systems.csv; each bad row is one of them with one cell damaged
(the poisoning row is the probe's own).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import polars as pl
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, StatementError
from typer.testing import CliRunner

from aitrack.cli import app
from aitrack.jobs.catalog import current_catalog, sync_catalog
from contracts.observations import OBSERVATION_SCHEMA, ObservationFrameError
from db.read import Reader
from db.write import PayloadRecord, SourceRecord, Writer
from indicators.catalog import load_catalog
from tests.realdb import load_slice

runner = CliRunner()
HEADER = "indicator,country,year,value,unit,source,source_url,value_kind"
GOOD_NEW = "top500_june_systems,USA,2005,277,count,TOP500 June list,https://top500.org/lists/top500/,measured"
WB = "World Bank WDI,https://data.worldbank.org/indicator/GB.XPD.RSDV.GD.ZS"

BAD_ROWS = {
    "poisoning row (foreign unit, 999, a future measured year)": (f"gerd_pct_gdp,CHN,2031,999,usd,{WB},measured", "year"),
    "foreign unit for a catalog indicator": (f"gerd_pct_gdp,CHN,2020,2.35712,usd,{WB},measured", "catalog unit 'pct_gdp'"),
    "a percentage above 100": (f"gerd_pct_gdp,CHN,2020,235.712,pct_gdp,{WB},measured", "above 100"),
    "a negative count": ("top500_june_systems,CHN,2006,-28,count,TOP500 June list,https://top500.org/,measured",
                         "cannot be below 0"),
    "year 2199 as measured": ("top500_june_systems,CHN,2199,28,count,TOP500 June list,https://top500.org/,measured",
                              "cannot describe a year after"),
    "1_000 as a number": ("top500_june_systems,CHN,2006,2_8,count,TOP500 June list,https://top500.org/,measured",
                          "ASCII digits"),
    "Arabic-Indic digits in the value": (
        "top500_june_systems,CHN,2006,\u0662\u0668,count,TOP500 June list,https://top500.org/,measured", "ASCII digits"),
    "Arabic-Indic digits in the year": (
        "top500_june_systems,CHN,\u0662\u0660\u0660\u0666,28,count,TOP500 June list,https://top500.org/,measured",
        "whole year"),
    "a 100k-character source name": (
        f"top500_june_systems,CHN,2006,28,count,{'T' * 100_000},https://top500.org/,measured", "at most 300"),
    "a NUL byte in the source name": (
        "top500_june_systems,CHN,2006,28,count,TOP500\x00 June list,https://top500.org/,measured", "U+0000"),
}


@pytest.fixture
def env(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("AITRACK_DATABASE_URL", database_url)
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    from db.session import make_engine

    engine = make_engine(database_url)
    reader, writer = Reader(engine), Writer(engine)
    sync_catalog(writer, current_catalog(reader))
    return reader


@pytest.fixture
def loaded(env):
    """With the World Bank part of the embedded snapshot stored (what `build` and the latest view work from)."""
    load_slice(Writer(env.engine), load_catalog(), ("worldbank",))
    return env


def _state(reader: Reader) -> tuple:
    with reader.engine.connect() as conn:
        return tuple(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                     for t in ("observation", "indicator", "raw_payload"))  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_ROWS), ids=list(BAD_ROWS))
def test_a_bad_row_is_rejected_whole_in_one_line_on_both_backends(env, tmp_path, case):
    bad, reason = BAD_ROWS[case]
    path = tmp_path / "analyst.csv"
    path.write_text("\n".join([HEADER, GOOD_NEW, bad]) + "\n", encoding="utf-8")
    before = _state(env)
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 2, result.output
    assert "rejected, nothing imported" in result.output and "row 2" in result.output
    assert reason in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert _state(env) == before  # no row, no payload, no indicator registered
    assert "top500_june_systems" not in env.indicator_ids()


def test_after_the_poisoning_row_build_and_the_latest_values_are_untouched(loaded, tmp_path):
    env = loaded
    latest_before = env.latest_observations(indicators=["gerd_pct_gdp"])
    path = tmp_path / "poison.csv"
    path.write_text(f"{HEADER}\n{BAD_ROWS['poisoning row (foreign unit, 999, a future measured year)'][0]}\n")
    assert runner.invoke(app, ["import", str(path)]).exit_code == 2
    assert env.latest_observations(indicators=["gerd_pct_gdp"]).equals(latest_before)
    build = runner.invoke(app, ["build"])
    assert build.exit_code == 0, build.output
    assert "dimension scores" in build.output


def _frame(**overrides) -> pl.DataFrame:
    row = {"indicator": "gerd_pct_gdp", "country": "CHN", "year": 2020, "year_start": 2020, "value": 2.35712,
           "unit": "pct_gdp", "value_kind": "measured", "source": "worldbank", "source_series": "GB.XPD.RSDV.GD.ZS",
           "retrieved_at": datetime(2026, 7, 20, tzinfo=timezone.utc), "vintage": "2026-07-13",
           "snapshot_id": hashlib.sha256(b"wb-gerd").hexdigest()}  # fmt: skip
    row.update(overrides)
    return pl.DataFrame([row], schema=OBSERVATION_SCHEMA)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [({"unit": "usd"}, "catalog unit"), ({"value": 235.712}, "above 100"), ({"year": 2031, "year_start": 2031}, "after"),
     ({"source_series": "GB.XPD\x1b.RSDV"}, "control character"), ({"source_series": "G" * 301}, "at most 300")],
)
def test_the_writer_applies_the_same_rules_to_any_fetcher_on_both_backends(env, overrides, reason):
    """A fetcher's frame meets the rules the import meets (the writer checks them in its transaction)."""
    writer = Writer(env.engine)
    frame = _frame(**overrides)
    payload = PayloadRecord(sha256=frame["snapshot_id"][0], source_id="worldbank", url="https://api.worldbank.org/v2",
                            request_params={}, status=200, media_type="application/json",
                            retrieved_at=frame["retrieved_at"][0], published=None, licence="CC BY 4.0", citation="",
                            redistributable=True, content=b"wb-gerd")  # fmt: skip
    before = _state(env)
    with pytest.raises(ObservationFrameError, match=reason):
        writer.ingest(run_source="worldbank", trigger="refresh", started_at=frame["retrieved_at"][0],
                      sources=[SourceRecord(id="worldbank", producer="World Bank", title="WDI")], payloads=[payload],
                      observations=frame)  # fmt: skip
    assert _state(env) == before


@pytest.mark.parametrize(
    ("column", "value"),
    [("value", -28.0), ("year", 2301), ("source_series", "S" * 301)],
)
def test_the_database_itself_refuses_what_the_rules_refuse(env, column, value):
    """CHECK constraints (migration 0003) hold even for a writer that skips the Python rules."""
    row = {"indicator_id": "top500_systems", "country": "CHN", "year": 2006, "year_start": 2006, "value": 28.0,
           "unit": "count", "value_kind": "measured", "source_id": "worldbank", "source_series": "x",
           "retrieved_at": datetime(2026, 7, 20, tzinfo=timezone.utc), "vintage": "2026-07-13"}  # fmt: skip
    row[column] = value
    if column == "year":
        row["year_start"] = value
    sha = hashlib.sha256(b"a payload").hexdigest()
    with env.engine.begin() as conn:
        conn.execute(text("INSERT INTO source (id, producer, title, homepage, licence, citation, redistributable, "
                          "cadence_days) VALUES ('worldbank', 'World Bank', 'WDI', '', '', '', true, 120)"))
        conn.execute(text("INSERT INTO raw_payload (sha256, source_id, url, request_params, status, media_type, "
                          "retrieved_at, licence, citation, redistributable, size_bytes, content, extra) VALUES "
                          "(:s, 'worldbank', 'u', '{}', 200, 'text/csv', :t, '', '', true, 9, :c, '{}')"),
                     {"s": sha, "t": row["retrieved_at"], "c": b"a payload"})  # fmt: skip
    row["snapshot_id"] = sha
    columns = ", ".join(row)
    with pytest.raises((IntegrityError, StatementError)) as caught:
        with env.engine.begin() as conn:
            conn.execute(text(f"INSERT INTO observation ({columns}) VALUES ({', '.join(':' + c for c in row)})"), row)
    message = str(caught.value).lower()
    assert "check" in message or "too long" in message
