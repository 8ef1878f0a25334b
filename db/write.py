"""The writer: observation frames, payloads and results in, one transaction per call; nothing here reads for a caller."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from contracts.observations import NATURAL_KEY, ObservationFrameError, validate_observations
from contracts.pair import DEFAULT_PAIR, pair_label
from contracts.records import CrossoverRow
from contracts.redaction import NO_SECRETS, Scrubber
from contracts.validation import check_observations
from db import models as m
from db.copy import copy_observations
from db.locks import holder_gone, this_process
from db.vintages import revision_vintage, values_equal


@dataclass(frozen=True)
class SourceRecord:
    id: str
    producer: str
    title: str
    homepage: str = ""
    licence: str = ""
    citation: str = ""
    redistributable: bool = False
    cadence_days: int = 365


@dataclass(frozen=True)
class PayloadRecord:
    """A raw payload to store: its bytes inline (`content`), or the path of the file that holds them (`storage_path`,
    relative to the data directory; an analyst's file of any size is never loaded into memory)."""

    sha256: str
    source_id: str
    url: str
    request_params: dict[str, Any]
    status: int
    media_type: str
    retrieved_at: datetime
    published: str | None
    licence: str
    citation: str
    redistributable: bool
    content: bytes | None
    extra: dict[str, Any] = field(default_factory=dict)
    storage_path: str | None = None
    size_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.content is None and self.storage_path is None:
            raise ValueError(f"payload {self.sha256}: neither content nor a storage path")


@dataclass(frozen=True)
class IndicatorRecord:
    id: str
    name: str
    unit: str
    category: str = "user"
    direction: str = "higher_is_better"
    comparison: str = "pair"
    forecast_scale: str = "log"
    cadence_days: int = 365
    origin: str = "catalog"
    caveats: tuple[str, ...] = ()
    sources: tuple[tuple[str, str], ...] = ()  # (source id, series) in priority order
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass
class WriteStats:
    added: int = 0
    unchanged: int = 0
    revised: int = 0

    @property
    def total(self) -> int:
        return self.added + self.unchanged + self.revised


class UnknownIndicatorError(ValueError):
    """Observations name indicators that are neither in the catalog nor registered."""


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


def json_safe(value: Any) -> Any:
    """JSON column content: non-finite floats become None (JSON has no NaN), tuples lists, keys strings."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _dialect_insert(conn: Connection, table):
    """INSERT that can say ON CONFLICT (SQLite and PostgreSQL both can)."""
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table)


RUN_ERROR_LIMIT = 2000


class Writer:
    """Every write of the application (fetch runs, observations, payloads, indicators, evidence, runs, scores).

    Every text it stores (errors, URLs, request parameters) passes through `scrubber`, so a configured secret a
    provider echoed back never reaches the database. Every observation frame is checked against the value rules
    (`contracts.validation`) and the registered indicators' units inside the transaction that stores it.
    """

    def __init__(self, engine: Engine, *, scrubber: Scrubber = NO_SECRETS) -> None:
        self.engine = engine
        self.scrubber = scrubber

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def sync_indicators(self, records: Iterable[IndicatorRecord]) -> None:
        """Insert or update indicator rows and their source priorities (the catalog is the authority)."""
        records = list(records)
        with self.engine.begin() as conn:
            self._sync_indicators(conn, records)

    def _sync_indicators(self, conn: Connection, records: Sequence[IndicatorRecord]) -> None:
        # Upserts: two processes syncing the same catalog at once both succeed (no duplicate-key error).
        for rec in records:
            values = {
                "name": rec.name,
                "unit": rec.unit,
                "category": rec.category,
                "direction": rec.direction,
                "comparison": rec.comparison,
                "forecast_scale": rec.forecast_scale,
                "cadence_days": rec.cadence_days,
                "origin": rec.origin,
                "caveats": list(rec.caveats),
                "spec": rec.spec,
            }
            statement = _dialect_insert(conn, m.Indicator).values(id=rec.id, **values)
            conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))
            listed = [src for src, _ in rec.sources]
            conn.execute(delete(m.IndicatorSource).where(m.IndicatorSource.indicator_id == rec.id,
                                                         m.IndicatorSource.source_id.not_in(listed)))  # fmt: skip
            for i, (src, series) in enumerate(rec.sources):
                row = {"priority": i + 1, "series": series}
                statement = _dialect_insert(conn, m.IndicatorSource).values(indicator_id=rec.id, source_id=src, **row)
                conn.execute(statement.on_conflict_do_update(index_elements=["indicator_id", "source_id"], set_=row))

    def _upsert_sources(self, conn: Connection, sources: Iterable[SourceRecord]) -> None:
        for src in sources:
            values = {
                "producer": src.producer,
                "title": src.title,
                "homepage": src.homepage,
                "licence": src.licence,
                "citation": src.citation,
                "redistributable": src.redistributable,
                "cadence_days": src.cadence_days,
            }
            statement = _dialect_insert(conn, m.Source).values(id=src.id, **values)
            conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))

    def _store_payloads(self, conn: Connection, payloads: Sequence[PayloadRecord]) -> None:
        shas = {p.sha256 for p in payloads}
        if not shas:
            return
        known = set(conn.scalars(select(m.RawPayload.sha256).where(m.RawPayload.sha256.in_(shas))))
        fresh: dict[str, PayloadRecord] = {p.sha256: p for p in payloads if p.sha256 not in known}
        scrub = self.scrubber
        for p in fresh.values():
            row = {
                "sha256": p.sha256,
                "source_id": p.source_id,
                "url": scrub.text(p.url),
                "request_params": scrub.value(p.request_params),
                "status": p.status,
                "media_type": p.media_type,
                "retrieved_at": p.retrieved_at,
                "published": p.published,
                "licence": p.licence,
                "citation": scrub.text(p.citation),
                "redistributable": p.redistributable,
                "size_bytes": p.size_bytes if p.size_bytes is not None else len(p.content or b""),
                "content": p.content,
                "storage_path": p.storage_path,
                "extra": scrub.value(p.extra),
            }
            # Content-addressed: a payload another process stored meanwhile is the same bytes; keep the first.
            conn.execute(_dialect_insert(conn, m.RawPayload).values(**row).on_conflict_do_nothing(index_elements=["sha256"]))

    def _catalog_units(self, conn: Connection, indicators: Sequence[str]) -> dict[str, str]:
        known = dict(conn.execute(select(m.Indicator.id, m.Indicator.unit).where(m.Indicator.id.in_(indicators))).all())
        unknown = sorted(set(indicators) - set(known))
        if unknown:
            raise UnknownIndicatorError(f"unknown indicator id(s), not in the catalog: {', '.join(unknown)}")
        return known

    def _write_observations(self, conn: Connection, frame: pl.DataFrame, fetch_run_id: int | None,
                            stats: WriteStats | None = None) -> WriteStats:  # fmt: skip
        """Append the frame's new values and revisions; a value already stored (under its vintage or a same-day
        revision of it) is unchanged. Inserts say ON CONFLICT DO NOTHING, so a race can never add a duplicate.
        PostgreSQL takes the frame through COPY (db/copy.py); SQLite row by row below, the same rules."""
        stats = stats if stats is not None else WriteStats()
        if frame.height == 0:
            return stats
        indicators = sorted(set(frame["indicator"]))
        check_observations(frame, catalog_units=self._catalog_units(conn, indicators))
        if conn.dialect.name == "postgresql":
            # The bulk path: COPY into a staging table, the same rules set-based (db/copy.py).
            added, unchanged, revised = copy_observations(conn, frame, fetch_run_id)
            stats.added, stats.unchanged, stats.revised = (stats.added + added, stats.unchanged + unchanged,
                                                           stats.revised + revised)
            return stats
        sources = sorted(set(frame["source"]))
        countries = sorted(set(frame["country"]))
        rows = conn.execute(
            select(
                m.Observation.indicator_id,
                m.Observation.country,
                m.Observation.year,
                m.Observation.source_id,
                m.Observation.vintage,
                m.Observation.value,
                m.Observation.id,
                m.Observation.fetch_run_id,
            ).where(
                m.Observation.indicator_id.in_(indicators), m.Observation.source_id.in_(sources),
                m.Observation.country.in_(countries),
                m.Observation.year.between(int(frame["year"].min()), int(frame["year"].max())),
            )
        ).all()  # fmt: skip
        # Per (indicator, country, year, source): every stored vintage with its value, and the latest one.
        by_vintage: dict[tuple, float] = {}
        family: dict[tuple, list[float]] = {}
        latest: dict[tuple, tuple[str, int, float]] = {}
        this_run: set[tuple] = set()
        for ind, country, year, src, vintage, value, row_id, run in rows:
            key = (ind, country, year, src)
            by_vintage[key + (vintage,)] = value
            family.setdefault(key + (vintage.split("#", 1)[0],), []).append(value)
            if fetch_run_id is not None and run == fetch_run_id:
                this_run.add(key)
            current = latest.get(key)
            if current is None or (vintage, row_id) > (current[0], current[1]):
                latest[key] = (vintage, row_id, value)
        to_insert: list[dict[str, Any]] = []
        for row in frame.iter_rows(named=True):
            key = (row["indicator"], row["country"], row["year"], row["source"])
            if key in this_run:
                raise ObservationFrameError(
                    "observations repeat a key already stored by this run: "
                    + ", ".join(f"{k}={row[k]}" for k in NATURAL_KEY)
                )
            vintage = row["vintage"]
            same_vintage = by_vintage.get(key + (vintage,))
            if same_vintage is not None:
                if any(values_equal(v, row["value"]) for v in family.get(key + (vintage,), ())):
                    stats.unchanged += 1
                    continue
                # A provider changed a value without changing its release date: keep both, told apart by the value.
                vintage = revision_vintage(vintage, row["value"])
                revised = True
            elif key in latest:
                if values_equal(latest[key][2], row["value"]):
                    stats.unchanged += 1
                    continue
                revised = True
            else:
                revised = False
            to_insert.append(
                {
                    "indicator_id": row["indicator"],
                    "country": row["country"],
                    "year": row["year"],
                    "year_start": row["year_start"],
                    "value": row["value"],
                    "unit": row["unit"],
                    "value_kind": row["value_kind"],
                    "source_id": row["source"],
                    "source_series": row["source_series"],
                    "retrieved_at": row["retrieved_at"],
                    "vintage": vintage,
                    "snapshot_id": row["snapshot_id"],
                    "fetch_run_id": fetch_run_id,
                    "_revised": revised,
                }
            )
        if to_insert:
            flags = {(r["indicator_id"], r["country"], r["year"], r["source_id"], r["vintage"]): r.pop("_revised")
                     for r in to_insert}  # fmt: skip
            statement = (
                _dialect_insert(conn, m.Observation)
                .on_conflict_do_nothing(index_elements=["indicator_id", "country", "year", "source_id", "vintage"])
                .returning(m.Observation.indicator_id, m.Observation.country, m.Observation.year,
                           m.Observation.source_id, m.Observation.vintage)
            )  # fmt: skip
            stored = conn.execute(statement, to_insert).all()
            for returned in stored:
                if flags[tuple(returned)]:
                    stats.revised += 1
                else:
                    stats.added += 1
            stats.unchanged += len(to_insert) - len(stored)  # stored meanwhile by another process: the same value
        return stats

    # -- fetch runs ----------------------------------------------------------------------------------------------
    def start_run(self, *, run_source: str, trigger: str, started_at: datetime) -> int:
        """A `running` fetch_run row, committed before any data is fetched: an interrupted run stays visible."""
        me = this_process()
        with self.engine.begin() as conn:
            return conn.execute(
                insert(m.FetchRun).values(
                    source_id=run_source, trigger=trigger, started_at=started_at, status="running",
                    heartbeat_at=datetime.now(timezone.utc), host=me.host, pid=me.pid,
                ).returning(m.FetchRun.id)
            ).scalar_one()  # fmt: skip

    def mark_interrupted_runs(self, *, lease_s: float, now: datetime | None = None) -> list[int]:
        """Fail the `running` fetch runs whose process is gone (this host) or silent for longer than the lease
        (another host); the ids marked."""
        now = now or datetime.now(timezone.utc)
        marked = []
        with self.engine.begin() as conn:
            running = conn.execute(
                select(m.FetchRun.id, m.FetchRun.host, m.FetchRun.pid, m.FetchRun.heartbeat_at, m.FetchRun.started_at)
                .where(m.FetchRun.status == "running")
            ).all()  # fmt: skip
            for run_id, host, pid, heartbeat, started in running:
                if not holder_gone(host, pid, None, heartbeat or started, lease_s, now):
                    continue
                where = f"process {pid} on {host}" if host else "an earlier process"
                conn.execute(
                    update(m.FetchRun).where(m.FetchRun.id == run_id, m.FetchRun.status == "running").values(
                        status="failed", finished_at=now,
                        error=f"interrupted: {where} stopped before the run finished (last heartbeat "
                              f"{_utc(heartbeat or started):%Y-%m-%d %H:%M:%S} UTC)",
                    )
                )  # fmt: skip
                marked.append(run_id)
        return marked

    def ingest(
        self,
        *,
        run_source: str,
        trigger: str,
        started_at: datetime,
        sources: Sequence[SourceRecord],
        payloads: Sequence[PayloadRecord],
        observations: pl.DataFrame | Iterable[pl.DataFrame],
        indicators: Sequence[IndicatorRecord] = (),
        run_id: int | None = None,
    ) -> WriteStats:
        """Store one source's payloads, the indicators it registers and its observations, and mark its fetch_run
        successful, atomically.

        `observations` is one frame, or an iterable of frames (an analyst's file, read in chunks: memory stays bounded
        whatever its size); every chunk is checked and written inside the same transaction. `run_id` is the `running`
        row of `start_run`; without it the row is created in this transaction. Any exception rolls back everything, so
        a failed write leaves the database exactly as before (apart from the running row, which `record_failed_run`
        then marks failed).
        """
        chunks: Iterable[pl.DataFrame]
        if isinstance(observations, pl.DataFrame):
            first = validate_observations(observations)
            check_observations(first)
            chunks = [first]
            self._check_payloads_cited(first, payloads)
        else:
            chunks = (validate_observations(chunk) for chunk in observations)
        stats = WriteStats()
        n_rows = 0
        with self.engine.begin() as conn:
            self._upsert_sources(conn, sources)
            self._store_payloads(conn, payloads)
            if indicators:
                self._sync_indicators(conn, list(indicators))
            if run_id is None:
                run_id = conn.execute(
                    insert(m.FetchRun)
                    .values(source_id=run_source, trigger=trigger, started_at=started_at, status="running")
                    .returning(m.FetchRun.id)
                ).scalar_one()
            conn.execute(update(m.FetchRun).where(m.FetchRun.id == run_id).values(n_payloads=len(payloads)))
            for chunk in chunks:
                self._check_payloads_cited(chunk, payloads)
                self._write_observations(conn, chunk, run_id, stats)
                n_rows += chunk.height
            finished = datetime.now(timezone.utc)
            conn.execute(
                update(m.FetchRun)
                .where(m.FetchRun.id == run_id)
                .values(
                    status="ok" if n_rows else "empty",
                    finished_at=finished,
                    duration_s=(finished - started_at).total_seconds(),
                    rows_added=stats.added,
                    rows_unchanged=stats.unchanged,
                    rows_revised=stats.revised,
                    error=None,
                )
            )
        return stats

    @staticmethod
    def _check_payloads_cited(frame: pl.DataFrame, payloads: Sequence[PayloadRecord]) -> None:
        if frame.height == 0:
            return
        missing = set(frame["snapshot_id"]) - {p.sha256 for p in payloads}
        if missing:
            raise ValueError(f"observations cite {len(missing)} raw payload(s) that were not supplied")

    def record_failed_run(self, *, run_source: str, trigger: str, started_at: datetime, error: str,
                          run_id: int | None = None) -> None:  # fmt: skip
        """Mark the run failed (the `running` row of `start_run`, or a new row), its error scrubbed of secrets."""
        finished = datetime.now(timezone.utc)
        values = {"finished_at": finished, "duration_s": (finished - started_at).total_seconds(), "status": "failed",
                  "error": (self.scrubber.text(error) or "")[:RUN_ERROR_LIMIT]}  # fmt: skip
        with self.engine.begin() as conn:
            if run_id is not None:
                conn.execute(update(m.FetchRun).where(m.FetchRun.id == run_id).values(**values))
            else:
                conn.execute(insert(m.FetchRun).values(source_id=run_source, trigger=trigger, started_at=started_at,
                                                       **values))  # fmt: skip

    def replace_evidence(self, frame: pl.DataFrame) -> int:
        """The evidence table mirrors the curated file: replaced whole, in one transaction."""
        columns = [c.name for c in m.Evidence.__table__.columns]
        rows = frame.select(columns).to_dicts()
        with self.engine.begin() as conn:
            conn.execute(delete(m.Evidence))
            if rows:
                conn.execute(insert(m.Evidence), rows)
        return len(rows)

    def save_forecast_run(
        self,
        *,
        run: dict[str, Any],
        forecasts: pl.DataFrame,
        crossovers: Sequence[CrossoverRow],
        details: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """A forecast run with its forecast rows and crossover records, in one transaction.

        `details` (per subject: the model choice and residual correlation) is kept with each crossover row.
        """
        fc_columns = [c.name for c in m.Forecast.__table__.columns if c.name != "id"]
        cx_columns = {c.name for c in m.Crossover.__table__.columns if c.name != "id"}
        run = {"kind": "official", "pair": pair_label(DEFAULT_PAIR), **run}
        defaults = {"pair": run["pair"], "nowcast": False}
        forecasts = forecasts.with_columns(
            pl.lit(value).alias(name) for name, value in defaults.items() if name not in forecasts.columns
        )
        with self.engine.begin() as conn:
            conn.execute(insert(m.ForecastRun).values(**run))
            if forecasts.height:
                rows = forecasts.with_columns(pl.lit(run["id"]).alias("run_id")).select(fc_columns).to_dicts()
                conn.execute(insert(m.Forecast), rows)
            if crossovers:
                rows = []
                for cx in crossovers:
                    row = {k: v for k, v in cx.as_dict().items() if k in cx_columns}
                    row["run_id"] = run["id"]
                    row["details"] = json_safe((details or {}).get(cx.subject, {}))
                    rows.append(row)
                conn.execute(insert(m.Crossover), rows)

    def save_dimension_scores(self, frame: pl.DataFrame, *, build_id: str, fingerprint: str) -> int:
        if frame.height == 0:
            return 0
        now = datetime.now(timezone.utc)
        columns = [c.name for c in m.DimensionScore.__table__.columns if c.name != "id"]
        rows = (
            frame.with_columns(
                *([] if "weight_nowcast" in frame.columns else [pl.lit(0.0).alias("weight_nowcast")]),
                pl.lit(build_id).alias("build_id"),
                pl.lit(now).alias("computed_at"),
                pl.lit(fingerprint).alias("data_fingerprint"),
            )
            .select(columns)
            .to_dicts()
        )
        with self.engine.begin() as conn:
            conn.execute(insert(m.DimensionScore), rows)
        return len(rows)
