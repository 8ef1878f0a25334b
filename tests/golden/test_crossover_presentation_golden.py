"""The crossover presentation, pinned: stored records of one subject per status (built by the real pipeline from
snapshot series, tests/golden/crossover_records.json) and the slice's observations in, the documented rows and the
table's words out. Regenerate with `python -m tests.golden.regen_crossover_presentation` when the engine changes."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime
from pathlib import Path

import pytest

from aitrack.present import crossovers
from contracts.kinds import OBSERVED_KINDS
from contracts.records import CrossoverRow
from db.read import Reader
from db.session import make_engine
from indicators.catalog import load_catalog
from tests.golden.regen_crossover_presentation import PRESENTATION, RECORDS, SUBJECTS, golden_rows
from tests.realdb import build_real_db

DOCS = Path(__file__).resolve().parents[2] / "docs" / "forecasting.md"


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('golden') / 'aitrack.db'}")
    build_real_db(engine)
    reader = Reader(engine)
    yield reader.latest_observations(countries=["CHN", "USA"], kinds=OBSERVED_KINDS), reader.dimension_scores()[0]
    engine.dispose()


def stored_records() -> tuple[list[CrossoverRow], dict[str, datetime]]:
    stored = json.loads(RECORDS.read_text())
    times = {k: datetime.fromisoformat(v.replace("Z", "+00:00")) for k, v in stored["run_times"].items()}
    return [CrossoverRow.from_mapping(r) for r in stored["records"]], times


def test_the_presentation_of_each_status_is_pinned(facts):
    observations, scores = facts
    records, times = stored_records()
    assert {r.subject: r.status for r in records} == SUBJECTS
    assert {"already_crossed", "projected", "not_within_horizon", "insufficient_data"} <= {r.status for r in records}
    views = crossovers.present(records, catalog=load_catalog(), observations=observations, dimension_scores=scores,
                               run_times=times)  # fmt: skip
    assert golden_rows(views) == json.loads(PRESENTATION.read_text())


def test_words_follow_the_record_for_likely_crossed():
    # A real record (large-scale AI systems: the US leads, China projected) read as the round-2 engine will report a
    # crossing that probably happened after the data ended: the words come from the record's fields alone.
    records, _ = stored_records()
    projected = next(r for r in records if r.status == "projected")
    likely = dataclasses.replace(projected, status="likely_crossed", data_end_year=2020, p_crossed_by_now=0.64)
    assert crossovers.status_text(likely) == "likely already passed (data end 2020)"
    assert crossovers.question(likely) == "When does China pass the US?"
    view = crossovers.present([likely], catalog=load_catalog(), observations=_empty(), dimension_scores=_empty())[0]
    assert (view.status, view.data_end_year, view.p_crossed_by_now) == ("likely_crossed", 2020, 0.64)
    headers, (cells,) = crossovers.display_table([view])
    assert cells[headers.index("Status")] == "likely already passed (data end 2020)"
    assert cells[headers.index("Data end")] == "2020"


def _empty():
    import polars as pl

    from contracts.observations import OBSERVATION_SCHEMA

    return pl.DataFrame(schema={**OBSERVATION_SCHEMA, "dimension": pl.String(), "pair": pl.String(),
                                "status": pl.String(), "score": pl.Float64()})  # fmt: skip


def documented_columns() -> list[str]:
    """The column names of the table between the crossover-columns markers of docs/forecasting.md."""
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("<!-- crossover-columns:start -->")[1].split("<!-- crossover-columns:end -->")[0]
    names = []
    for line in table.strip().splitlines()[2:]:
        cell = line.split("|")[1]
        names += re.findall(r"`([a-z0-9_]+)`", cell)
    return names


def test_the_documented_columns_are_the_presentations():
    documented = documented_columns()
    assert len(documented) == len(set(documented)) and set(documented) == set(crossovers.COLUMNS)
    views = crossovers.present(stored_records()[0], catalog=load_catalog(), observations=_empty(),
                               dimension_scores=_empty())  # fmt: skip
    parsed = json.loads(crossovers.render_file(views, "json"))
    assert parsed and all(set(row) == set(documented) and list(row) == list(crossovers.COLUMNS) for row in parsed)
    assert crossovers.render_file(views, "csv").splitlines()[0].split(",") == list(crossovers.COLUMNS)
