"""All SQL lives here: polars frames and plain records in, polars frames out; every write is one transaction."""

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
from contracts.kinds import OBSERVED_KINDS
from contracts.observations import OBSERVATION_SCHEMA, validate_observations


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


def _values_equal(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


class Repository:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------------ writes
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
        crossovers: Sequence[dict[str, Any]],
    ) -> None:
        """A forecast run with its forecast rows and crossover rows, in one transaction."""
        fc_columns = [c.name for c in m.Forecast.__table__.columns if c.name != "id"]
        cx_columns = {c.name for c in m.Crossover.__table__.columns if c.name != "id"}
        run = {"kind": "official", "pair": "CHN-USA", **run}
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
                    row = {"stale": False, "notes": [], **{k: v for k, v in cx.items() if k in cx_columns}}
                    row["run_id"] = run["id"]
                    row["p_by"] = {str(k): v for k, v in (cx.get("p_by") or {}).items()}
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

    # ------------------------------------------------------------------- reads
    def _frame(self, sql: Any, schema: dict[str, pl.DataType] | None = None, params: dict | None = None) -> pl.DataFrame:
        with self.engine.connect() as conn:
            result = conn.execute(text(sql) if isinstance(sql, str) else sql, params or {})
            names = list(result.keys())
            rows = result.all()
        if schema is None:
            return pl.DataFrame([dict(zip(names, r)) for r in rows], infer_schema_length=None) if rows else pl.DataFrame(
                schema={n: pl.Null for n in names}
            )
        data = {n: [r[i] for r in rows] for i, n in enumerate(names)}
        return pl.DataFrame(data, schema={n: schema.get(n, pl.String()) for n in names}, strict=False)

    def latest_observations(
        self,
        *,
        indicators: Sequence[str] | None = None,
        countries: Sequence[str] | None = None,
        kinds: Sequence[str] | None = OBSERVED_KINDS,
        max_year: int | None = None,
        min_year: int | None = None,
    ) -> pl.DataFrame:
        """v_latest_observation as a frame in the observation contract (sorted indicator, country, year)."""
        clauses, params = [], {}
        for name, values in (("indicator", indicators), ("country", countries), ("value_kind", kinds)):
            if values is not None:
                keys = [f"{name}_{i}" for i in range(len(values))]
                clauses.append(f"{name} IN ({', '.join(':' + k for k in keys)})" if keys else "1 = 0")
                params.update(dict(zip(keys, values)))
        if max_year is not None:
            clauses.append("year <= :max_year")
            params["max_year"] = max_year
        if min_year is not None:
            clauses.append("year >= :min_year")
            params["min_year"] = min_year
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        frame = self._frame(
            f"SELECT * FROM v_latest_observation {where} ORDER BY indicator, country, year", OBSERVATION_SCHEMA, params
        )
        return frame.with_columns(pl.col("retrieved_at").dt.replace_time_zone(None).dt.replace_time_zone("UTC"))

    def observations(self, *, indicator: str | None = None) -> pl.DataFrame:
        """Every stored vintage (not only the latest), for audits and revision histories."""
        sql = (
            "SELECT indicator_id AS indicator, country, year, year_start, value, unit, value_kind, source_id AS source, "
            "source_series, retrieved_at, vintage, snapshot_id FROM observation"
        )
        params = {}
        if indicator is not None:
            sql += " WHERE indicator_id = :indicator"
            params["indicator"] = indicator
        sql += " ORDER BY indicator_id, country, year, source_id, vintage"
        frame = self._frame(sql, OBSERVATION_SCHEMA, params)
        return frame.with_columns(pl.col("retrieved_at").dt.replace_time_zone(None).dt.replace_time_zone("UTC"))

    def table_counts(self) -> dict[str, int]:
        counts = {}
        with self.engine.connect() as conn:
            for table in m.Base.metadata.sorted_tables:
                counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        return counts

    def source_status(self) -> list[dict[str, Any]]:
        """Per source: its last fetch run (status, rows, error) and the newest vintage it has stored."""
        with self.engine.connect() as conn:
            runs = conn.execute(select(m.FetchRun).order_by(m.FetchRun.started_at, m.FetchRun.id)).mappings().all()
            vintages = dict(
                conn.execute(
                    select(m.Observation.source_id, func.max(m.Observation.vintage)).group_by(m.Observation.source_id)
                ).all()
            )
            cadence = dict(conn.execute(select(m.Source.id, m.Source.cadence_days)).all())
            last_ok = dict(
                conn.execute(
                    select(m.FetchRun.source_id, func.max(m.FetchRun.finished_at))
                    .where(m.FetchRun.status.in_(("ok", "empty")))
                    .group_by(m.FetchRun.source_id)
                ).all()
            )
        last: dict[str, Any] = {}
        for run in runs:
            last[run["source_id"]] = run
        out = []
        for source_id in sorted(set(last) | set(vintages)):
            run = last.get(source_id)
            out.append(
                {
                    "source": source_id,
                    "last_run": _utc(run["started_at"]).isoformat() if run else None,
                    "status": run["status"] if run else None,
                    "rows_added": run["rows_added"] if run else 0,
                    "rows_revised": run["rows_revised"] if run else 0,
                    "rows_unchanged": run["rows_unchanged"] if run else 0,
                    "error": run["error"] if run else None,
                    "newest_vintage": vintages.get(source_id),
                    "last_success": _utc(last_ok[source_id]).isoformat() if last_ok.get(source_id) else None,
                    "cadence_days": cadence.get(source_id),
                }
            )
        return out

    def indicator_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(m.Indicator.id)))

    def indicators(self) -> pl.DataFrame:
        return self._frame(
            "SELECT id, name, unit, category, direction, comparison, forecast_scale, cadence_days, origin "
            "FROM indicator ORDER BY id"
        )

    def user_indicator_specs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(m.Indicator.id, m.Indicator.name, m.Indicator.unit, m.Indicator.spec).where(
                    m.Indicator.origin == "user"
                )
            ).all()
            return [{"id": r.id, "name": r.name, "unit": r.unit, "spec": r.spec} for r in rows]

    def evidence(
        self, *, indicator: str | None = None, kind: str | None = None, country: str | None = None
    ) -> pl.DataFrame:
        clauses, params = [], {}
        for name, value in (("indicator", indicator), ("value_kind", kind), ("country", country)):
            if value is not None:
                clauses.append(f"{name} = :{name}")
                params[name] = value
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        schema = {
            "evidence_id": pl.String(), "document": pl.String(), "line": pl.Int64(), "quote": pl.String(),
            "indicator": pl.String(), "country": pl.String(), "period_start": pl.Int64(), "period_end": pl.Int64(),
            "value": pl.Float64(), "unit": pl.String(), "value_kind": pl.String(), "source_named": pl.String(),
            "notes": pl.String(),
        }  # fmt: skip
        return self._frame(f"SELECT * FROM evidence {where} ORDER BY evidence_id", schema, params)

    def crossovers_latest(self) -> pl.DataFrame:
        return self._frame("SELECT * FROM v_crossover_latest ORDER BY subject_kind DESC, subject")

    def forecasts_latest(self, subject: str | None = None) -> pl.DataFrame:
        params, where = {}, ""
        if subject is not None:
            where, params = "WHERE subject = :subject", {"subject": subject}
        return self._frame(f"SELECT * FROM v_forecast_latest {where} ORDER BY subject, country, year", None, params)

    def dimensions_latest(self) -> pl.DataFrame:
        return self._frame("SELECT * FROM v_dimension_latest ORDER BY dimension, year")

    def forecast_runs(self) -> pl.DataFrame:
        return self._frame(
            "SELECT id, created_at, as_of, horizon, n_paths, seed, code_version, data_fingerprint, duration_s "
            "FROM forecast_run ORDER BY created_at"
        )

    def payload_provenance(self) -> pl.DataFrame:
        """Every stored raw payload without its bytes: for reports and the sources page."""
        return self._frame(
            "SELECT sha256, source_id, url, retrieved_at, published, licence, citation, redistributable, size_bytes "
            "FROM raw_payload ORDER BY source_id, url"
        )

    # --- reads for the HTTP API (begin)
    # Plain records (lists of dicts) rather than frames: the API serialises them as they are. Columns are typed
    # through `text().columns()` so SQLite and PostgreSQL return the same Python values (datetimes, JSON objects).
    # Every method here only reads, so the API can run under a SELECT-only role.
    def _api_records(
        self, conn: Connection, sql: str, params: dict[str, Any], json_columns: Sequence[str] = (),
        time_columns: Sequence[str] = (),
    ) -> list[dict[str, Any]]:  # fmt: skip
        from sqlalchemy import JSON

        typed = {name: JSON() for name in json_columns} | {name: m.UtcDateTime for name in time_columns}
        statement = text(sql).columns(**typed) if typed else text(sql)
        records = [dict(row) for row in conn.execute(statement, params).mappings()]
        for record in records:
            for name in time_columns:
                record[name] = _utc(record[name])
        return records

    @staticmethod
    def _api_where(filters: Sequence[tuple[str, str, Any]]) -> tuple[str, dict[str, Any]]:
        """(column, operator, value) triples with value None skipped → a WHERE clause and its parameters."""
        clauses, params = [], {}
        for i, (column, operator, value) in enumerate(filters):
            if value is not None:
                clauses.append(f"{column} {operator} :p{i}")
                params[f"p{i}"] = value
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params

    def _api_page(
        self, relation: str, filters: Sequence[tuple[str, str, Any]], order_by: str, limit: int, offset: int,
        json_columns: Sequence[str] = (), time_columns: Sequence[str] = (), columns: str = "*",
    ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        where, params = self._api_where(filters)
        with self.engine.connect() as conn:
            # The total rides along as a window count (one pass instead of a second query); a page past the end
            # has no row to carry it, so only then is it counted separately.
            rows = self._api_records(
                conn,
                f"SELECT {columns}, count(*) OVER () AS api_total_rows FROM {relation} {where} "
                f"ORDER BY {order_by} LIMIT :limit OFFSET :offset",
                {**params, "limit": limit, "offset": offset},
                json_columns,
                time_columns,
            )
            if rows:
                total = rows[0]["api_total_rows"]
            else:
                total = conn.execute(text(f"SELECT count(*) FROM {relation} {where}"), params).scalar_one()
        for row in rows:
            del row["api_total_rows"]
        return rows, int(total)

    def api_data_version(self) -> str:
        """A cheap fingerprint of everything the API serves; it changes when stored values, runs or builds change.

        Fetch runs are left out on purpose: a refresh that finds nothing new adds fetch_run rows but no observation,
        and the API's answers (and their ETags) stay valid.
        """
        sql = (
            "SELECT (SELECT max(id) FROM observation), (SELECT count(*) FROM source), "
            "(SELECT count(*) FROM forecast_run), (SELECT max(created_at) FROM forecast_run), "
            "(SELECT count(*) FROM dimension_score), (SELECT max(computed_at) FROM dimension_score), "
            "(SELECT count(*) FROM evidence), (SELECT count(*) FROM indicator), (SELECT count(*) FROM indicator_source)"
        )
        with self.engine.connect() as conn:
            row = conn.execute(text(sql)).one()
        return "|".join("" if v is None else str(v) for v in row)

    def api_indicators(self) -> list[dict[str, Any]]:
        """Every indicator with its caveats and the number of current values stored for it."""
        sql = (
            "SELECT i.id, i.name, i.unit, i.category, i.direction, i.comparison, i.forecast_scale, i.cadence_days, "
            "i.origin, i.caveats, COALESCE(n.n_values, 0) AS n_values FROM indicator i "
            "LEFT JOIN (SELECT indicator_id, count(*) AS n_values FROM observation GROUP BY indicator_id) n "
            "ON n.indicator_id = i.id ORDER BY i.id"
        )
        with self.engine.connect() as conn:
            return self._api_records(conn, sql, {}, json_columns=("caveats",))

    def api_latest_observations(
        self, *, indicator: str | None = None, country: str | None = None, year_from: int | None = None,
        year_to: int | None = None, value_kind: str | None = None, limit: int = 1000, offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        filters = [
            ("indicator", "=", indicator), ("country", "=", country), ("year", ">=", year_from),
            ("year", "<=", year_to), ("value_kind", "=", value_kind),
        ]  # fmt: skip
        return self._api_page(
            "v_latest_observation", filters, "indicator, country, year", limit, offset, time_columns=("retrieved_at",)
        )

    def api_latest_observations_of(self, indicator: str) -> list[dict[str, Any]]:
        """Every current value of one indicator (all countries, years and kinds), in the order the API pages them.

        The API keeps this per data version and filters it in memory, so every query about one indicator costs one
        database read per version.
        """
        with self.engine.connect() as conn:
            return self._api_records(
                conn,
                "SELECT * FROM v_latest_observation WHERE indicator = :indicator ORDER BY indicator, country, year",
                {"indicator": indicator}, time_columns=("retrieved_at",),
            )  # fmt: skip

    def api_forecasts(
        self, *, subject: str | None = None, run_id: str | None = None, country: str | None = None,
        limit: int = 1000, offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        """Rows of the latest current-data run per subject, or of one named run (backtests included)."""
        if run_id is None:
            relation = "v_forecast_latest"
        else:
            relation = (
                "(SELECT f.run_id, r.created_at, f.subject, f.subject_kind, f.country, f.model, f.year, f.mean, "
                "f.lo_80, f.hi_80, f.lo_95, f.hi_95 FROM forecast f JOIN forecast_run r ON r.id = f.run_id) runs"
            )
        filters = [("run_id", "=", run_id), ("subject", "=", subject), ("country", "=", country)]
        return self._api_page(
            relation, filters, "subject, country, year, model", limit, offset, time_columns=("created_at",)
        )

    def api_forecast_subjects(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(text("SELECT DISTINCT subject FROM forecast")))

    def api_forecast_runs(self) -> list[dict[str, Any]]:
        """Every forecast run, newest first, with its configuration (as_of is null for current-data runs)."""
        sql = (
            "SELECT id, created_at, as_of, horizon, n_paths, seed, configuration, code_version, data_fingerprint, "
            "duration_s FROM forecast_run ORDER BY created_at DESC, id DESC"
        )
        with self.engine.connect() as conn:
            return self._api_records(conn, sql, {}, json_columns=("configuration",), time_columns=("created_at",))

    def api_crossovers(
        self, *, subject: str | None = None, limit: int = 1000, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        return self._api_page(
            "v_crossover_latest", [("subject", "=", subject)], "subject_kind DESC, subject, pair", limit, offset,
            json_columns=("p_by",), time_columns=("created_at",),
        )  # fmt: skip

    def api_all_crossovers(self) -> list[dict[str, Any]]:
        """Every row of the latest crossover estimates, in the order the API pages them (the API filters in memory)."""
        with self.engine.connect() as conn:
            return self._api_records(
                conn, "SELECT * FROM v_crossover_latest ORDER BY subject_kind DESC, subject, pair", {},
                json_columns=("p_by",), time_columns=("created_at",),
            )  # fmt: skip

    def api_dimensions(
        self, *, dimension: str | None = None, limit: int = 1000, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        return self._api_page(
            "v_dimension_latest", [("dimension", "=", dimension)], "dimension, pair, year", limit, offset,
            time_columns=("computed_at",),
        )  # fmt: skip

    def api_evidence(
        self, *, indicator: str | None = None, kind: str | None = None, country: str | None = None,
        limit: int = 1000, offset: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        filters = [("indicator", "=", indicator), ("value_kind", "=", kind), ("country", "=", country)]
        return self._api_page("evidence", filters, "evidence_id", limit, offset)

    def api_evidence_indicators(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(text("SELECT DISTINCT indicator FROM evidence")))

    def api_sources(self) -> list[dict[str, Any]]:
        """Per source: producer, licence and citation, with its payloads' first and last retrieval and newest release."""
        sql = (
            "SELECT s.id AS source, s.producer, s.title, s.homepage, s.licence, s.citation, s.redistributable, "
            "p.n_payloads, p.first_retrieved, p.last_retrieved, p.newest_published FROM source s "
            "LEFT JOIN (SELECT source_id, count(*) AS n_payloads, min(retrieved_at) AS first_retrieved, "
            "max(retrieved_at) AS last_retrieved, max(published) AS newest_published FROM raw_payload "
            "GROUP BY source_id) p ON p.source_id = s.id ORDER BY s.id"
        )
        with self.engine.connect() as conn:
            records = self._api_records(conn, sql, {}, time_columns=("first_retrieved", "last_retrieved"))
        for record in records:
            record["redistributable"] = bool(record["redistributable"])
            record["n_payloads"] = int(record["n_payloads"] or 0)
        return records

    # --- reads for the HTTP API (end)
