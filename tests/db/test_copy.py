"""The PostgreSQL COPY path of the writer (db/copy.py) against the row-by-row path SQLite keeps (issue 16, part 4).

Real data: the World Bank and OWID files of the embedded snapshot (data/snapshot/; ../shared/data/worldbank and
../shared/data/owid SOURCES.md), loaded by the loader `aitrack run` uses into a scratch PostgreSQL schema and a
scratch SQLite file. A revision is simulated with another real figure of the same series (the previous year's
value), stored only in these scratch databases.
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import psycopg
import pytest
from sqlalchemy import select, text

from aitrack.jobs import ingest
from aitrack.jobs.catalog import current_catalog, sync_catalog
from contracts.observations import OBSERVATION_COLUMNS, ObservationFrameError
from db import models as m
from db.copy import COLUMNS, PLAN, STAGE, copy_observations
from db.migrate import upgrade
from db.read import Reader
from db.session import make_engine
from db.vintages import revision_vintage
from db.write import PayloadRecord, SourceRecord, Writer

pytestmark = pytest.mark.postgres

SOURCES = ("worldbank", "owid")
STARTED = datetime(2026, 7, 20, tzinfo=timezone.utc)


def _load(url: str):
    engine = make_engine(url)
    upgrade(engine)
    reader, writer = Reader(engine), Writer(engine)
    catalog = current_catalog(reader)
    sync_catalog(writer, catalog)
    outcomes = ingest.load_snapshot(writer, catalog, sources=SOURCES)
    return engine, reader, writer, outcomes


def _rows(engine) -> pl.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(*[getattr(m.Observation, c) for c in COLUMNS.values()]).order_by(m.Observation.id)
                            ).all()
    frame = pl.DataFrame([tuple(r) for r in rows], schema=list(COLUMNS.values()), orient="row")
    # SQLite hands timestamps back naive (they are stored in UTC).
    return frame.with_columns(pl.col("retrieved_at").map_elements(
        lambda t: t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc),
        return_dtype=pl.Datetime("us", "UTC")))


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM observation")).scalar_one()


@pytest.fixture
def both(postgres_url, sqlite_url):
    pg, lite = _load(postgres_url), _load(sqlite_url)
    yield pg, lite
    pg[0].dispose()
    lite[0].dispose()


def _stats(outcomes) -> list[tuple]:
    return [(o.source, o.status, o.added, o.unchanged, o.revised) for o in outcomes]


def test_copy_path_stores_the_rows_of_the_row_path(both):
    (pg, _, _, pg_out), (lite, _, _, lite_out) = both
    assert _stats(pg_out) == _stats(lite_out)
    pg_rows, lite_rows = _rows(pg), _rows(lite)
    assert pg_rows.height > 40_000
    # Same rows in the same order (ids follow the frame's order on both paths), values bit for bit.
    assert pg_rows.equals(lite_rows)


def test_reingest_adds_nothing(both):
    (pg, reader, writer, first), _ = both
    before = _count(pg)
    again = ingest.load_snapshot(writer, current_catalog(reader), sources=SOURCES)
    assert all(o.status == "ok" and o.added == 0 and o.revised == 0 for o in again)
    assert sum(o.unchanged for o in again) == sum(o.added + o.unchanged + o.revised for o in first) == before
    assert _count(pg) == before


def _revisions(reader: Reader) -> pl.DataFrame:
    """Three real GERD rows with the series' previous-year value in place of their own (a provider's revision)."""
    stored = reader.latest_observations(indicators=["gerd_pct_gdp"], countries=["CHN", "IND", "USA"])
    stored = stored.filter(pl.col("source") == "worldbank").sort("country", "year")
    previous = stored.with_columns(pl.col("value").shift(1).over("country").alias("revised"))
    picked = previous.filter(pl.col("revised").is_not_null() & (pl.col("revised") != pl.col("value")))
    return picked.group_by("country").last().sort("country").with_columns(pl.col("revised").alias("value")) \
        .select(OBSERVATION_COLUMNS)


def _write(writer: Writer, frame: pl.DataFrame):
    payloads = [PayloadRecord(sha256=sha, source_id="worldbank", url="", request_params={}, status=200,
                              media_type="text/csv", retrieved_at=STARTED, published=None, licence="", citation="",
                              redistributable=True, content=b"") for sha in frame["snapshot_id"].unique()]
    return writer.ingest(run_source="worldbank", trigger="refresh", started_at=STARTED,
                         sources=[SourceRecord(id="worldbank", producer="World Bank", title="WDI")],
                         payloads=payloads, observations=frame)  # fmt: skip


def test_a_revised_value_makes_a_new_vintage_as_on_the_row_path(both):
    (pg, pg_reader, pg_writer, _), (lite, _, lite_writer, _) = both
    revised = _revisions(pg_reader)
    assert revised.height == 3
    later = revised.with_columns(pl.lit("2026-12-01").alias("vintage"))
    for frame in (later, revised):  # under a new vintage, then under the stored one (a same-day revision)
        a, b = _write(pg_writer, frame), _write(lite_writer, frame)
        assert (a.added, a.unchanged, a.revised) == (b.added, b.unchanged, b.revised) == (0, 0, 3)
        again = _write(pg_writer, frame)
        assert (again.added, again.unchanged, again.revised) == (0, 3, 0)
    assert _rows(pg).equals(_rows(lite))
    stored = _rows(pg).filter((pl.col("indicator_id") == "gerd_pct_gdp") & (pl.col("source_id") == "worldbank"))
    for country, year, vintage, value in revised.select("country", "year", "vintage", "value").rows():
        mine = stored.filter((pl.col("country") == country) & (pl.col("year") == year))
        assert mine["vintage"].to_list() == [vintage, "2026-12-01", revision_vintage(vintage, value)]
        assert mine["value"].to_list()[1:] == [value, value]


def test_a_key_this_run_stored_is_refused(both):
    (pg, reader, _, _), _ = both
    frame = _revisions(reader)
    with pg.begin() as conn:
        run = conn.execute(text("SELECT max(id) FROM fetch_run WHERE source_id = 'worldbank'")).scalar_one()
        with pytest.raises(ObservationFrameError, match="already stored by this run"):
            copy_observations(conn, frame, run)


@pytest.mark.parametrize("breakage", ["nul byte COPY refuses", "row the INSERT refuses"])
def test_a_failed_copy_leaves_nothing_behind(both, breakage):
    (pg, reader, _, _), _ = both
    frame = _revisions(reader).with_columns(pl.lit("2027-01-01").alias("vintage"))
    if breakage.startswith("nul"):
        bad = frame.with_columns(pl.when(pl.col("country") == "USA").then(pl.lit("GB.XPD\x00")).otherwise(
            pl.col("source_series")).alias("source_series"))
        expected = psycopg.DataError
    else:  # a period that ends before it starts breaks the table's CHECK constraint, after the COPY succeeded
        bad = frame.with_columns(pl.when(pl.col("country") == "USA").then(pl.col("year") + 1).otherwise(
            pl.col("year_start")).alias("year_start"))
        expected = psycopg.errors.CheckViolation
    before = _rows(pg)
    with pytest.raises(Exception) as caught:
        with pg.begin() as conn:
            copy_observations(conn, bad, None)
    assert isinstance(caught.value.orig if hasattr(caught.value, "orig") else caught.value, expected)
    assert _rows(pg).equals(before)
    with pg.connect() as conn:
        left = conn.execute(text("SELECT count(*) FROM pg_class WHERE relname IN (:a, :b) AND relpersistence = 't'"),
                            {"a": STAGE, "b": PLAN}).scalar_one()
    assert left == 0
    # The good rows alone go in: the failure was the bad row's, not the path's.
    with pg.begin() as conn:
        assert copy_observations(conn, frame, None) == (0, 0, 3)


def _keys(engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE conrelid = 'observation'::regclass AND contype = 'f' ORDER BY conname")).all()


def test_a_bulk_frame_is_appended_with_the_keys_dropped_and_revalidated(both, monkeypatch):
    """Above BULK_FOREIGN_KEY_ROWS the foreign keys are dropped for the INSERT and re-added: the same rows as the
    trigger-checked path, and the same four validated keys afterwards (here with the threshold at one row)."""
    import db.copy

    (pg, pg_reader, _, _), (lite, _, lite_writer, _) = both
    dropped = []
    read_keys = db.copy._foreign_keys
    monkeypatch.setattr(db.copy, "_foreign_keys", lambda cursor: dropped.extend(read_keys(cursor)) or dropped)
    keys = _keys(pg)
    assert len(keys) == 4 and all(valid for *_, valid in keys)
    frame = _revisions(pg_reader).with_columns(pl.lit("2026-12-01").alias("vintage"))
    run = _write(lite_writer, frame)  # the row path's answer
    with pg.begin() as conn:
        assert copy_observations(conn, frame, None, bulk_rows=1) == (run.added, run.unchanged, run.revised) == (0, 0, 3)
    assert [name for name, _ in dropped] == [name for name, *_ in keys]  # the bulk path ran
    assert _keys(pg) == keys
    assert _rows(pg).filter(pl.col("vintage") == "2026-12-01").drop("snapshot_id", "retrieved_at").equals(
        _rows(lite).filter(pl.col("vintage") == "2026-12-01").drop("snapshot_id", "retrieved_at"))


def test_a_bulk_frame_whose_key_has_no_target_leaves_nothing_behind(both):
    """A row citing a payload that is not stored fails the keys' re-validation: the transaction rolls back whole,
    the keys included."""
    (pg, reader, _, _), _ = both
    keys, before = _keys(pg), _rows(pg)
    frame = _revisions(reader).with_columns(pl.lit("2027-02-01").alias("vintage"), pl.lit("0" * 64).alias("snapshot_id"))
    with pytest.raises(Exception) as caught:
        with pg.begin() as conn:
            copy_observations(conn, frame, None, bulk_rows=1)
    assert isinstance(getattr(caught.value, "orig", caught.value), psycopg.errors.ForeignKeyViolation)
    assert _keys(pg) == keys
    assert _rows(pg).equals(before)


def test_a_bulk_frame_waits_briefly_for_readers_then_uses_the_triggers(both, postgres_url, monkeypatch):
    """A reader holding one of the referenced tables: the bulk path cannot have its lock within the timeout, steps
    back to its savepoint and appends with the keys' triggers — the ingest still stores its rows."""
    import db.copy

    (pg, reader, _, _), _ = both
    outcomes = []
    bulk = db.copy._insert_without_key_triggers
    monkeypatch.setattr(db.copy, "_insert_without_key_triggers",
                        lambda *a: outcomes.append(bulk(*a)) or outcomes[-1])
    frame = _revisions(reader).with_columns(pl.lit("2027-03-01").alias("vintage"))
    keys = _keys(pg)
    other = make_engine(postgres_url)
    try:
        with other.connect() as holder:
            holder.begin()
            holder.execute(text("SELECT count(*) FROM source")).scalar_one()  # AccessShare on `source` until rollback
            with pg.begin() as conn:
                assert copy_observations(conn, frame, None, bulk_rows=1, lock_timeout="200ms") == (0, 0, 3)
            holder.rollback()
    finally:
        other.dispose()
    assert outcomes == [None]  # the bulk path stepped back
    assert _keys(pg) == keys
    assert _rows(pg).filter(pl.col("vintage") == "2027-03-01").height == 3
