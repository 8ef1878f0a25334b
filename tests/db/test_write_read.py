"""Writer and Reader semantics on SQLite and PostgreSQL: idempotent writes, vintages, revisions, rollback, latest view.

Values are real: World Bank GB.XPD.RSDV.GD.ZS for 2023 (CHN 2.57729, USA 3.44716; ../shared/data/worldbank/SOURCES.md)
and the OECD MSTI GERD % GDP for 2021 (USA 3.457, CHN 2.433; ../shared/data/oecd_msti/SOURCES.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl
import pytest
from sqlalchemy import func, select

from db import models as m
from contracts.observations import ObservationFrameError
from db.read import Reader
from db.write import IndicatorRecord, PayloadRecord, SourceRecord, UnknownIndicatorError, Writer

RETRIEVED = datetime(2026, 7, 20, tzinfo=timezone.utc)
WB = SourceRecord(id="worldbank", producer="World Bank", title="World Development Indicators", licence="CC BY 4.0")
OECD = SourceRecord(id="oecd", producer="OECD", title="Main Science and Technology Indicators")
GERD = IndicatorRecord(
    id="gerd_pct_gdp",
    name="Gross domestic expenditure on R&D",
    unit="pct_gdp",
    forecast_scale="logit",
    sources=(("oecd", "G.PT_B1GQ"), ("worldbank", "GB.XPD.RSDV.GD.ZS")),
)


def payload(source: str, body: bytes) -> PayloadRecord:
    return PayloadRecord(
        sha256=hashlib.sha256(body).hexdigest(), source_id=source, url=f"https://example.invalid/{source}",
        request_params={}, status=200, media_type="text/csv", retrieved_at=RETRIEVED, published=None,
        licence="CC BY 4.0", citation="", redistributable=True, content=body,
    )  # fmt: skip


def frame(rows: list[tuple[str, int, float]], *, source: str, vintage: str, sha: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "indicator": ["gerd_pct_gdp"] * len(rows),
            "country": [r[0] for r in rows],
            "year": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "unit": ["pct_gdp"] * len(rows),
            "value_kind": ["measured"] * len(rows),
            "source": [source] * len(rows),
            "source_series": ["GB.XPD.RSDV.GD.ZS"] * len(rows),
            "retrieved_at": [RETRIEVED] * len(rows),
            "vintage": [vintage] * len(rows),
            "snapshot_id": [sha] * len(rows),
        }
    )


@dataclass
class Store:
    engine: object
    reader: Reader
    writer: Writer


@pytest.fixture
def repo(engine) -> Store:
    store = Store(engine, Reader(engine), Writer(engine))
    store.writer.sync_indicators([GERD])
    return store


def ingest(repo: Store, rows, *, source=WB, vintage="2026-07-13", body=b"wb-1"):
    p = payload(source.id, body)
    return repo.writer.ingest(
        run_source=source.id, trigger="refresh", started_at=RETRIEVED, sources=[source], payloads=[p],
        observations=frame(rows, source=source.id, vintage=vintage, sha=p.sha256),
    )  # fmt: skip


def count(repo: Store, model) -> int:
    with repo.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_same_frame_twice_adds_nothing(repo):
    rows = [("CHN", 2023, 2.57729), ("USA", 2023, 3.44716)]
    first = ingest(repo, rows)
    second = ingest(repo, rows)
    assert (first.added, first.unchanged, first.revised) == (2, 0, 0)
    assert (second.added, second.unchanged, second.revised) == (0, 2, 0)
    assert count(repo, m.Observation) == 2
    assert count(repo, m.RawPayload) == 1
    assert count(repo, m.FetchRun) == 2


def test_new_vintage_with_same_value_is_unchanged(repo):
    ingest(repo, [("CHN", 2023, 2.57729)])
    stats = ingest(repo, [("CHN", 2023, 2.57729)], vintage="2026-09-01", body=b"wb-2")
    assert (stats.added, stats.unchanged, stats.revised) == (0, 1, 0)
    assert count(repo, m.Observation) == 1


def test_changed_value_appends_a_revision_and_latest_shows_it(repo):
    ingest(repo, [("CHN", 2023, 2.57729)])
    stats = ingest(repo, [("CHN", 2023, 2.6)], vintage="2026-09-01", body=b"wb-2")
    assert (stats.added, stats.unchanged, stats.revised) == (0, 0, 1)
    history = repo.reader.observations(indicator="gerd_pct_gdp")
    assert history["vintage"].to_list() == ["2026-07-13", "2026-09-01"]
    latest = repo.reader.latest_observations(indicators=["gerd_pct_gdp"])
    assert latest.select("country", "year", "value", "vintage").rows() == [("CHN", 2023, 2.6, "2026-09-01")]


def test_changed_value_under_the_same_vintage_is_kept_apart(repo):
    ingest(repo, [("USA", 2023, 3.44716)])
    stats = ingest(repo, [("USA", 2023, 3.5)], body=b"wb-2")
    assert stats.revised == 1
    vintages = repo.reader.observations(indicator="gerd_pct_gdp")["vintage"].to_list()
    assert vintages[0] == "2026-07-13" and vintages[1].startswith("2026-07-13#")


def test_exception_mid_write_leaves_database_as_before(repo):
    ingest(repo, [("CHN", 2023, 2.57729)])
    before = (count(repo, m.Observation), count(repo, m.RawPayload), count(repo, m.FetchRun), count(repo, m.Source))
    good = payload("worldbank", b"wb-3")
    bad = frame([("USA", 2023, 3.44716)], source="worldbank", vintage="2026-09-01", sha=good.sha256)
    bad = bad.with_columns(pl.Series("indicator", ["not_in_catalog"]))
    with pytest.raises(UnknownIndicatorError, match="not_in_catalog"):
        repo.writer.ingest(run_source="worldbank", trigger="refresh", started_at=RETRIEVED, sources=[WB, OECD],
                    payloads=[good], observations=bad)  # fmt: skip
    after = (count(repo, m.Observation), count(repo, m.RawPayload), count(repo, m.FetchRun), count(repo, m.Source))
    assert after == before


def test_a_frame_breaking_the_contract_is_refused_before_any_write(repo):
    p = payload("worldbank", b"wb-4")
    broken = frame([("China", 2023, 2.57729)], source="worldbank", vintage="2026-07-13", sha=p.sha256)
    with pytest.raises(ObservationFrameError, match="ISO3"):
        repo.writer.ingest(run_source="worldbank", trigger="refresh", started_at=RETRIEVED, sources=[WB], payloads=[p],
                    observations=broken)  # fmt: skip
    assert count(repo, m.Observation) == 0 and count(repo, m.FetchRun) == 0


def test_latest_view_prefers_the_catalog_priority_source(repo):
    ingest(repo, [("USA", 2021, 3.4)], vintage="2026-07-13")  # a World Bank figure (priority 2)
    ingest(repo, [("USA", 2021, 3.457)], source=OECD, vintage="2026-09-27", body=b"oecd-1")  # OECD (priority 1)
    latest = repo.reader.latest_observations(indicators=["gerd_pct_gdp"], countries=["USA"])
    assert latest.select("source", "value").rows() == [("oecd", 3.457)]


def test_failed_run_is_recorded_and_keeps_earlier_data(repo):
    ingest(repo, [("CHN", 2023, 2.57729)])
    repo.writer.record_failed_run(run_source="worldbank", trigger="refresh", started_at=RETRIEVED, error="HTTP 503")
    status = {s["source"]: s for s in repo.reader.source_status()}
    assert status["worldbank"]["status"] == "failed"
    assert status["worldbank"]["newest_vintage"] == "2026-07-13"
    assert count(repo, m.Observation) == 1
