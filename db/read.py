"""The readers: one read path per view or table, returning polars frames in the contracts' columns or contract records.

Every method only reads (the API can run under a SELECT-only role). Columns are typed through SQLAlchemy so SQLite and
PostgreSQL return the same Python values (UTC datetimes, JSON objects, booleans).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import polars as pl
from sqlalchemy import JSON, Boolean, Engine, func, select, text
from sqlalchemy.engine import Connection

from contracts.kinds import OBSERVED_KINDS
from contracts.observations import OBSERVATION_SCHEMA
from contracts.records import CrossoverRow
from db import models as m

EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "evidence_id": pl.String(), "document": pl.String(), "line": pl.Int64(), "quote": pl.String(),
    "indicator": pl.String(), "country": pl.String(), "period_start": pl.Int64(), "period_end": pl.Int64(),
    "value": pl.Float64(), "unit": pl.String(), "value_kind": pl.String(), "source_named": pl.String(),
    "notes": pl.String(),
}  # fmt: skip
FORECAST_SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(), "created_at": pl.Datetime("us", "UTC"), "subject": pl.String(),
    "subject_kind": pl.String(), "pair": pl.String(), "country": pl.String(), "model": pl.String(),
    "year": pl.Int64(), "mean": pl.Float64(), "lo_80": pl.Float64(), "hi_80": pl.Float64(),
    "lo_95": pl.Float64(), "hi_95": pl.Float64(), "nowcast": pl.Boolean(),
}  # fmt: skip
DIMENSION_SCHEMA: dict[str, pl.DataType] = {
    "build_id": pl.String(), "computed_at": pl.Datetime("us", "UTC"), "dimension": pl.String(),
    "pair": pl.String(), "year": pl.Int64(), "score": pl.Float64(), "lo_80": pl.Float64(), "hi_80": pl.Float64(),
    "lo_95": pl.Float64(), "hi_95": pl.Float64(), "n_present": pl.Int64(), "n_indicators": pl.Int64(),
    "weight_present": pl.Float64(), "weight_nowcast": pl.Float64(), "status": pl.String(), "leader": pl.String(),
}  # fmt: skip
INDICATOR_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(), "name": pl.String(), "unit": pl.String(), "category": pl.String(),
    "direction": pl.String(), "comparison": pl.String(), "forecast_scale": pl.String(),
    "cadence_days": pl.Int64(), "origin": pl.String(), "caveats": pl.List(pl.String()), "n_values": pl.Int64(),
}  # fmt: skip

PROVENANCE_SCHEMA: dict[str, pl.DataType] = {
    "indicator": pl.String(), "country": pl.String(), "year": pl.Int64(), "year_start": pl.Int64(),
    "value": pl.Float64(), "unit": pl.String(), "value_kind": pl.String(), "source": pl.String(),
    "source_series": pl.String(), "vintage": pl.String(), "retrieved_at": pl.Datetime("us", "UTC"),
    "current": pl.Boolean(), "sha256": pl.String(), "payload_url": pl.String(), "published": pl.String(),
    "licence": pl.String(), "citation": pl.String(), "redistributable": pl.Boolean(), "size_bytes": pl.Int64(),
    "media_type": pl.String(), "producer": pl.String(), "source_title": pl.String(),
}  # fmt: skip

_TIME_COLUMNS = {"retrieved_at", "created_at", "computed_at", "first_retrieved", "last_retrieved", "started_at",
                 "finished_at", "last_run", "last_success"}  # fmt: skip


def _utc(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=timezone.utc) if ts.tzinfo is None else ts.astimezone(timezone.utc)


@dataclass(frozen=True)
class Filter:
    """(column, operator, value): a WHERE term; a None value (or an empty list for IN) is no filter."""

    column: str
    operator: str
    value: Any


def _where(filters: Sequence[Filter]) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    for i, f in enumerate(filters):
        if f.value is None:
            continue
        if f.operator == "IN":
            values = list(f.value)
            keys = [f"p{i}_{j}" for j in range(len(values))]
            clauses.append(f"{f.column} IN ({', '.join(':' + k for k in keys)})" if keys else "1 = 0")
            params.update(dict(zip(keys, values)))
        else:
            clauses.append(f"{f.column} {f.operator} :p{i}")
            params[f"p{i}"] = f.value
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params


class Reader:
    """Every read of the application; the CLI, API, dashboard and report see the database only through this."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    # ------------------------------------------------------------------ plumbing
    def _rows(self, conn: Connection, sql: str, params: dict[str, Any], typed: dict[str, Any] | None = None) -> list[dict]:
        statement = text(sql).columns(**typed) if typed else text(sql)
        rows = [dict(r) for r in conn.execute(statement, params).mappings()]
        for row in rows:
            for name in _TIME_COLUMNS & row.keys():
                if isinstance(row[name], datetime):
                    row[name] = _utc(row[name])
        return rows

    def _frame(self, sql: str, schema: dict[str, pl.DataType], params: dict[str, Any] | None = None,
               typed: dict[str, Any] | None = None) -> pl.DataFrame:  # fmt: skip
        with self.engine.connect() as conn:
            rows = self._rows(conn, sql, params or {}, typed)
        if not rows:
            return pl.DataFrame(schema=schema)
        data = {name: [r.get(name) for r in rows] for name in schema}
        return pl.DataFrame(data, schema=schema, strict=False)

    def _page(self, relation: str, filters: Sequence[Filter], order_by: str, limit: int | None, offset: int,
              schema: dict[str, pl.DataType], typed: dict[str, Any] | None = None) -> tuple[pl.DataFrame, int]:  # fmt: skip
        """One page of a relation and the total row count behind it (the total rides along as a window count)."""
        where, params = _where(filters)
        paging = ""
        if limit is not None:
            paging = " LIMIT :limit OFFSET :offset"
            params = {**params, "limit": limit, "offset": offset}
        sql = f"SELECT *, count(*) OVER () AS total_rows_ FROM {relation} {where} ORDER BY {order_by}{paging}"
        with self.engine.connect() as conn:
            rows = self._rows(conn, sql, params, typed)
            if rows:
                total = int(rows[0]["total_rows_"])
            else:
                total = int(conn.execute(text(f"SELECT count(*) FROM {relation} {where}"), params).scalar_one())
        if not rows:
            return pl.DataFrame(schema=schema), total
        data = {name: [r.get(name) for r in rows] for name in schema}
        return pl.DataFrame(data, schema=schema, strict=False), total

    # ------------------------------------------------------------------ observations (v_latest_observation)
    def latest_observations(self, **filters: Any) -> pl.DataFrame:
        """The current value per (indicator, country, year), in the observation contract, sorted by that key.

        Filters as `latest_observation_page` (indicators, countries, kinds — default the observed kinds —, year_from,
        year_to, limit, offset)."""
        return self.latest_observation_page(**filters)[0]

    def latest_observation_page(
        self,
        *,
        indicators: Sequence[str] | None = None,
        countries: Sequence[str] | None = None,
        kinds: Sequence[str] | None = OBSERVED_KINDS,
        year_from: int | None = None,
        year_to: int | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> tuple[pl.DataFrame, int]:
        filters = [
            Filter("indicator", "IN", indicators), Filter("country", "IN", countries), Filter("value_kind", "IN", kinds),
            Filter("year", ">=", year_from), Filter("year", "<=", year_to),
        ]  # fmt: skip
        return self._page("v_latest_observation", filters, "indicator, country, year", limit, offset,
                          OBSERVATION_SCHEMA, {"retrieved_at": m.UtcDateTime})  # fmt: skip

    def observations(self, *, indicator: str | None = None) -> pl.DataFrame:
        """Every stored vintage (not only the latest), for audits and revision histories."""
        where, params = _where([Filter("indicator_id", "=", indicator)])
        sql = (
            "SELECT indicator_id AS indicator, country, year, year_start, value, unit, value_kind, "
            "source_id AS source, source_series, retrieved_at, vintage, snapshot_id FROM observation "
            f"{where} ORDER BY indicator_id, country, year, source_id, vintage"
        )
        return self._frame(sql, OBSERVATION_SCHEMA, params, {"retrieved_at": m.UtcDateTime})

    # ------------------------------------------------------------------ forecasts, crossovers, dimensions
    def forecasts(
        self, *, subject: str | None = None, pair: str | None = None, country: str | None = None,
        run_id: str | None = None, limit: int | None = None, offset: int = 0,
    ) -> tuple[pl.DataFrame, int]:  # fmt: skip
        """Rows of the latest official run per subject (v_forecast_latest), or of one named run (any kind)."""
        relation = "v_forecast_latest"
        if run_id is not None:
            relation = (
                "(SELECT f.run_id, r.created_at, f.subject, f.subject_kind, f.pair, f.country, f.model, f.year, "
                "f.mean, f.lo_80, f.hi_80, f.lo_95, f.hi_95, f.nowcast FROM forecast f "
                "JOIN forecast_run r ON r.id = f.run_id) runs"
            )
        filters = [Filter("run_id", "=", run_id), Filter("subject", "=", subject), Filter("pair", "=", pair),
                   Filter("country", "=", country)]  # fmt: skip
        return self._page(relation, filters, "subject, pair, country, year, model", limit, offset, FORECAST_SCHEMA,
                          {"created_at": m.UtcDateTime, "nowcast": Boolean()})  # fmt: skip

    def crossovers(self, *, subject: str | None = None, pair: str | None = None,
                   run_id: str | None = None) -> list[CrossoverRow]:  # fmt: skip
        """The latest official crossover per (subject, pair) (v_crossover_latest), or those of one named run."""
        relation = "v_crossover_latest"
        if run_id is not None:
            relation = "(SELECT c.*, r.created_at FROM crossover c JOIN forecast_run r ON r.id = c.run_id) runs"
        where, params = _where([Filter("run_id", "=", run_id), Filter("subject", "=", subject), Filter("pair", "=", pair)])
        typed = {"p_by": JSON(), "historical_crossings": JSON(), "notes": JSON(), "stale": Boolean()}
        with self.engine.connect() as conn:
            rows = self._rows(conn, f"SELECT * FROM {relation} {where} ORDER BY subject_kind DESC, subject, pair",
                              params, typed)  # fmt: skip
        return [CrossoverRow.from_mapping(r) for r in rows]

    def crossover_run_times(self) -> dict[str, datetime]:
        """Run id → creation time of the runs behind the latest crossovers (for 'as of' headers)."""
        with self.engine.connect() as conn:
            rows = self._rows(conn, "SELECT DISTINCT run_id, created_at FROM v_crossover_latest", {},
                              {"created_at": m.UtcDateTime})  # fmt: skip
        return {r["run_id"]: r["created_at"] for r in rows}

    def dimension_scores(self, *, dimension: str | None = None, pair: str | None = None, year: int | None = None,
                         limit: int | None = None, offset: int = 0) -> tuple[pl.DataFrame, int]:  # fmt: skip
        """The latest build's scores per (dimension, pair) (v_dimension_latest), sorted by dimension, pair, year."""
        filters = [Filter("dimension", "=", dimension), Filter("pair", "=", pair), Filter("year", "=", year)]
        return self._page("v_dimension_latest", filters, "dimension, pair, year", limit, offset, DIMENSION_SCHEMA,
                          {"computed_at": m.UtcDateTime})  # fmt: skip

    def forecast_runs(self) -> list[dict[str, Any]]:
        """Every forecast run, newest first, with its kind and configuration."""
        sql = (
            "SELECT id, created_at, kind, pair, as_of, horizon, n_paths, seed, configuration, code_version, "
            "data_fingerprint, duration_s FROM forecast_run ORDER BY created_at DESC, id DESC"
        )
        with self.engine.connect() as conn:
            return self._rows(conn, sql, {}, {"configuration": JSON(), "created_at": m.UtcDateTime})

    def official_calibration(self, *, pair: str, code_version: str) -> tuple[str, dict[str, Any]] | None:
        """(run id, stored calibration) of the latest official run of `pair` made by `code_version`; None without
        such a run, or when that run stored none (a run without any series to calibrate)."""
        sql = ("SELECT id, configuration FROM forecast_run WHERE kind = 'official' AND pair = :pair "
               "AND code_version = :version ORDER BY created_at DESC, id DESC LIMIT 1")
        with self.engine.connect() as conn:
            rows = self._rows(conn, sql, {"pair": pair, "version": code_version}, {"configuration": JSON()})
        calibration = (rows[0]["configuration"] or {}).get("calibration") if rows else None
        return (rows[0]["id"], calibration) if calibration else None

    def forecast_subjects(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(text("SELECT DISTINCT subject FROM forecast")))

    # ------------------------------------------------------------------ catalog, evidence, provenance
    def indicators(self) -> pl.DataFrame:
        """Every stored indicator with its caveats and the number of observation rows (every vintage) stored for it."""
        sql = (
            "SELECT i.id, i.name, i.unit, i.category, i.direction, i.comparison, i.forecast_scale, i.cadence_days, "
            "i.origin, i.caveats, COALESCE(n.n_values, 0) AS n_values FROM indicator i "
            "LEFT JOIN (SELECT indicator_id, count(*) AS n_values FROM observation GROUP BY indicator_id) n "
            "ON n.indicator_id = i.id ORDER BY i.id"
        )
        return self._frame(sql, INDICATOR_SCHEMA, {}, {"caveats": JSON()})

    def indicator_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(select(m.Indicator.id)))

    def user_indicator_specs(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(m.Indicator.id, m.Indicator.name, m.Indicator.unit, m.Indicator.spec).where(
                    m.Indicator.origin == "user"
                )
            ).all()
            return [{"id": r.id, "name": r.name, "unit": r.unit, "spec": r.spec} for r in rows]

    def evidence(self, *, indicator: str | None = None, kind: str | None = None, country: str | None = None,
                 limit: int | None = None, offset: int = 0) -> tuple[pl.DataFrame, int]:  # fmt: skip
        filters = [Filter("indicator", "=", indicator), Filter("value_kind", "=", kind), Filter("country", "=", country)]
        return self._page("evidence", filters, "evidence_id", limit, offset, EVIDENCE_SCHEMA)

    def evidence_indicators(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.scalars(text("SELECT DISTINCT indicator FROM evidence")))

    def sources(self) -> list[dict[str, Any]]:
        """Per source: producer, licence and citation, with its payloads' first and last retrieval and newest release."""
        sql = (
            "SELECT s.id AS source, s.producer, s.title, s.homepage, s.licence, s.citation, s.redistributable, "
            "p.n_payloads, p.first_retrieved, p.last_retrieved, p.newest_published FROM source s "
            "LEFT JOIN (SELECT source_id, count(*) AS n_payloads, min(retrieved_at) AS first_retrieved, "
            "max(retrieved_at) AS last_retrieved, max(published) AS newest_published FROM raw_payload "
            "GROUP BY source_id) p ON p.source_id = s.id ORDER BY s.id"
        )
        typed = {"first_retrieved": m.UtcDateTime, "last_retrieved": m.UtcDateTime, "redistributable": Boolean()}
        with self.engine.connect() as conn:
            records = self._rows(conn, sql, {}, typed)
        for record in records:
            record["n_payloads"] = int(record["n_payloads"] or 0)
        return records

    def provenance(self, *, indicator: str, country: str, year: int) -> pl.DataFrame:
        """Every stored vintage of one value, newest retrieval first: the observation, the raw payload it was parsed
        from (URL, licence, size, sha256) and its source; `current` marks the row v_latest_observation shows."""
        sql = (
            "SELECT o.indicator_id AS indicator, o.country, o.year, o.year_start, o.value, o.unit, o.value_kind, "
            "o.source_id AS source, o.source_series, o.vintage, o.retrieved_at, "
            "CASE WHEN l.source IS NULL THEN 0 ELSE 1 END AS current, p.sha256, p.url AS payload_url, p.published, "
            "p.licence, p.citation, p.redistributable, p.size_bytes, p.media_type, s.producer, s.title AS source_title "
            "FROM observation o JOIN raw_payload p ON p.sha256 = o.snapshot_id JOIN source s ON s.id = o.source_id "
            "LEFT JOIN (SELECT source, vintage FROM v_latest_observation WHERE indicator = :indicator "
            "AND country = :country AND year = :year) l ON l.source = o.source_id AND l.vintage = o.vintage "
            "WHERE o.indicator_id = :indicator AND o.country = :country AND o.year = :year "
            "ORDER BY o.retrieved_at DESC, o.vintage DESC, o.source_id, o.id DESC"
        )
        params = {"indicator": indicator, "country": country, "year": year}
        return self._frame(sql, PROVENANCE_SCHEMA, params,
                           {"retrieved_at": m.UtcDateTime, "current": Boolean(), "redistributable": Boolean()})  # fmt: skip

    def observation_keys(self, indicator: str) -> pl.DataFrame:
        """The distinct (country, year) an indicator has any stored value for (every vintage and kind)."""
        sql = "SELECT DISTINCT country, year FROM observation WHERE indicator_id = :indicator ORDER BY country, year"
        return self._frame(sql, {"country": pl.String(), "year": pl.Int64()}, {"indicator": indicator})

    def payload(self, sha256: str) -> tuple[bytes, str] | None:
        """The raw bytes of one stored payload and their media type, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(m.RawPayload.content, m.RawPayload.media_type).where(m.RawPayload.sha256 == sha256)
            ).first()
        return None if row is None else (bytes(row.content), row.media_type)

    def payload_provenance(self) -> pl.DataFrame:
        """Every stored raw payload without its bytes: for reports and the sources page."""
        schema = {"sha256": pl.String(), "source_id": pl.String(), "url": pl.String(),
                  "retrieved_at": pl.Datetime("us", "UTC"), "published": pl.String(), "licence": pl.String(),
                  "citation": pl.String(), "redistributable": pl.Boolean(), "size_bytes": pl.Int64()}  # fmt: skip
        sql = (
            "SELECT sha256, source_id, url, retrieved_at, published, licence, citation, redistributable, size_bytes "
            "FROM raw_payload ORDER BY source_id, url"
        )
        return self._frame(sql, schema, {}, {"retrieved_at": m.UtcDateTime, "redistributable": Boolean()})

    # ------------------------------------------------------------------ operations
    def table_counts(self) -> dict[str, int]:
        counts = {}
        with self.engine.connect() as conn:
            for table in m.Base.metadata.sorted_tables:
                counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
        return counts

    def source_status(self) -> list[dict[str, Any]]:
        """Per source: its last fetch run (status, rows, error), the newest vintage and newest data year it stores."""
        with self.engine.connect() as conn:
            runs = conn.execute(select(m.FetchRun).order_by(m.FetchRun.started_at, m.FetchRun.id)).mappings().all()
            newest = {
                r[0]: (r[1], r[2])
                for r in conn.execute(
                    select(m.Observation.source_id, func.max(m.Observation.vintage), func.max(m.Observation.year))
                    .group_by(m.Observation.source_id)
                ).all()
            }
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
        for source_id in sorted(set(last) | set(newest)):
            run = last.get(source_id)
            vintage, year = newest.get(source_id, (None, None))
            out.append(
                {
                    "source": source_id,
                    "last_run": _utc(run["started_at"]).isoformat() if run else None,
                    "trigger": run["trigger"] if run else None,
                    "status": run["status"] if run else None,
                    "rows_added": run["rows_added"] if run else 0,
                    "rows_revised": run["rows_revised"] if run else 0,
                    "rows_unchanged": run["rows_unchanged"] if run else 0,
                    "error": run["error"] if run else None,
                    "run_id": run["id"] if run else None,
                    "heartbeat_at": _utc(run["heartbeat_at"]).isoformat() if run and run["heartbeat_at"] else None,
                    "host": run["host"] if run else None,
                    "pid": run["pid"] if run else None,
                    "newest_vintage": vintage,
                    "newest_year": year,
                    "last_success": _utc(last_ok[source_id]).isoformat() if last_ok.get(source_id) else None,
                    "cadence_days": cadence.get(source_id),
                }
            )
        return out

    def freshness(self) -> dict[str, Any]:
        """When the latest official forecast run was made, and when stored data last changed (a fetch run that added
        or revised rows): a forecast older than its data needs re-running."""
        with self.engine.connect() as conn:
            run = conn.execute(
                select(m.ForecastRun.id, m.ForecastRun.created_at).where(m.ForecastRun.kind == "official")
                .order_by(m.ForecastRun.created_at.desc(), m.ForecastRun.id.desc()).limit(1)
            ).first()  # fmt: skip
            changed = conn.execute(
                select(m.FetchRun.source_id, m.FetchRun.finished_at)
                .where(m.FetchRun.status == "ok", (m.FetchRun.rows_added + m.FetchRun.rows_revised) > 0)
                .order_by(m.FetchRun.finished_at.desc()).limit(1)
            ).first()  # fmt: skip
        return {
            "official_run": run[0] if run else None,
            "official_run_at": _utc(run[1]) if run else None,
            "data_changed_at": _utc(changed[1]) if changed else None,
            "data_changed_by": changed[0] if changed else None,
        }

    def data_version(self) -> str:
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
