"""The writer: observation frames, payloads and results in, one transaction per call; nothing here reads for a caller."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection

from db import models as m
from contracts.observations import validate_observations
from contracts.pair import DEFAULT_PAIR, pair_label
from contracts.records import CrossoverRow


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
    content: bytes
    extra: dict[str, Any] = field(default_factory=dict)


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


def _values_equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


class Writer:
    """Every write of the application (fetch runs, observations, payloads, indicators, evidence, runs, scores)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def sync_indicators(self, records: Iterable[IndicatorRecord]) -> None:
        """Insert or update indicator rows and their source priorities (the catalog is the authority)."""
        records = list(records)
        with self.engine.begin() as conn:
            existing = set(conn.scalars(select(m.Indicator.id)))
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
                if rec.id in existing:
                    conn.execute(update(m.Indicator).where(m.Indicator.id == rec.id).values(**values))
                else:
                    conn.execute(insert(m.Indicator).values(id=rec.id, **values))
                conn.execute(delete(m.IndicatorSource).where(m.IndicatorSource.indicator_id == rec.id))
                if rec.sources:
                    conn.execute(
                        insert(m.IndicatorSource),
                        [
                            {"indicator_id": rec.id, "source_id": src, "priority": i + 1, "series": series}
                            for i, (src, series) in enumerate(rec.sources)
                        ],
                    )

    def _upsert_sources(self, conn: Connection, sources: Iterable[SourceRecord]) -> None:
        existing = set(conn.scalars(select(m.Source.id)))
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
            if src.id in existing:
                conn.execute(update(m.Source).where(m.Source.id == src.id).values(**values))
            else:
                conn.execute(insert(m.Source).values(id=src.id, **values))
                existing.add(src.id)

    def _store_payloads(self, conn: Connection, payloads: Sequence[PayloadRecord]) -> None:
        shas = {p.sha256 for p in payloads}
        if not shas:
            return
        known = set(conn.scalars(select(m.RawPayload.sha256).where(m.RawPayload.sha256.in_(shas))))
        fresh: dict[str, PayloadRecord] = {p.sha256: p for p in payloads if p.sha256 not in known}
        if fresh:
            conn.execute(
                insert(m.RawPayload),
                [
                    {
                        "sha256": p.sha256,
                        "source_id": p.source_id,
                        "url": p.url,
                        "request_params": p.request_params,
                        "status": p.status,
                        "media_type": p.media_type,
                        "retrieved_at": p.retrieved_at,
                        "published": p.published,
                        "licence": p.licence,
                        "citation": p.citation,
                        "redistributable": p.redistributable,
                        "size_bytes": len(p.content),
                        "content": p.content,
                        "extra": p.extra,
                    }
                    for p in fresh.values()
                ],
            )

    def _write_observations(self, conn: Connection, frame: pl.DataFrame, fetch_run_id: int | None) -> WriteStats:
        stats = WriteStats()
        if frame.height == 0:
            return stats
        indicators = sorted(set(frame["indicator"]))
        known = set(conn.scalars(select(m.Indicator.id).where(m.Indicator.id.in_(indicators))))
        unknown = sorted(set(indicators) - known)
        if unknown:
            raise UnknownIndicatorError(f"unknown indicator id(s), not in the catalog: {', '.join(unknown)}")
        sources = sorted(set(frame["source"]))
        rows = conn.execute(
            select(
                m.Observation.indicator_id,
                m.Observation.country,
                m.Observation.year,
                m.Observation.source_id,
                m.Observation.vintage,
                m.Observation.value,
                m.Observation.id,
            ).where(m.Observation.indicator_id.in_(indicators), m.Observation.source_id.in_(sources))
        ).all()
        by_vintage: dict[tuple, float] = {}
        latest: dict[tuple, tuple[str, int, float]] = {}
        for ind, country, year, src, vintage, value, row_id in rows:
            key = (ind, country, year, src)
            by_vintage[key + (vintage,)] = value
            current = latest.get(key)
            if current is None or (vintage, row_id) > (current[0], current[1]):
                latest[key] = (vintage, row_id, value)
        to_insert: list[dict[str, Any]] = []
        taken = set(by_vintage)
        for row in frame.iter_rows(named=True):
            key = (row["indicator"], row["country"], row["year"], row["source"])
            vintage = row["vintage"]
            same_vintage = by_vintage.get(key + (vintage,))
            if same_vintage is not None:
                if _values_equal(same_vintage, row["value"]):
                    stats.unchanged += 1
                    continue
                # A provider changed a value without changing its release date: keep both, told apart.
                vintage = f"{vintage}#{row['retrieved_at']:%Y%m%dT%H%M%S}"
                if key + (vintage,) in taken:
                    stats.unchanged += 1
                    continue
                stats.revised += 1
            elif key in latest:
                if _values_equal(latest[key][2], row["value"]):
                    stats.unchanged += 1
                    continue
                stats.revised += 1
            else:
                stats.added += 1
            taken.add(key + (vintage,))
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
                }
            )
        if to_insert:
            conn.execute(insert(m.Observation), to_insert)
        return stats

    def ingest(
        self,
        *,
        run_source: str,
        trigger: str,
        started_at: datetime,
        sources: Sequence[SourceRecord],
        payloads: Sequence[PayloadRecord],
        observations: pl.DataFrame,
    ) -> WriteStats:
        """Store one source's payloads and observations and a successful fetch_run, atomically.

        Any exception rolls back everything, so a failed write leaves the database exactly as before.
        """
        frame = validate_observations(observations)
        missing = set(frame["snapshot_id"]) - {p.sha256 for p in payloads}
        if missing:
            raise ValueError(f"observations cite {len(missing)} raw payload(s) that were not supplied")
        with self.engine.begin() as conn:
            self._upsert_sources(conn, sources)
            self._store_payloads(conn, payloads)
            run_id = conn.execute(
                insert(m.FetchRun)
                .values(
                    source_id=run_source,
                    trigger=trigger,
                    started_at=started_at,
                    status="running",
                    n_payloads=len(payloads),
                )
                .returning(m.FetchRun.id)
            ).scalar_one()
            stats = self._write_observations(conn, frame, run_id)
            finished = datetime.now(timezone.utc)
            conn.execute(
                update(m.FetchRun)
                .where(m.FetchRun.id == run_id)
                .values(
                    status="ok" if frame.height else "empty",
                    finished_at=finished,
                    duration_s=(finished - started_at).total_seconds(),
                    rows_added=stats.added,
                    rows_unchanged=stats.unchanged,
                    rows_revised=stats.revised,
                )
            )
        return stats

    def record_failed_run(self, *, run_source: str, trigger: str, started_at: datetime, error: str) -> None:
        finished = datetime.now(timezone.utc)
        with self.engine.begin() as conn:
            conn.execute(
                insert(m.FetchRun).values(
                    source_id=run_source,
                    trigger=trigger,
                    started_at=started_at,
                    finished_at=finished,
                    duration_s=(finished - started_at).total_seconds(),
                    status="failed",
                    error=error[:2000],
                )
            )

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
