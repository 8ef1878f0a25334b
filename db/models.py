"""SQLAlchemy 2.x schema: sources and raw payloads (provenance), indicators, append-only observations, runs and results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from contracts.kinds import VALUE_KINDS, sql_list
from contracts.units import UNITS
from contracts.validation import TEXT_LIMITS, VINTAGE_COLUMN_LENGTH, YEAR_RANGE

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite keeps BIGINT primary keys from auto-incrementing; Integer there, BigInteger on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")
UtcDateTime = DateTime(timezone=True)


def unit_range_check() -> str:
    """SQL for contracts.units' ranges: `unit NOT IN (…) OR value >= 0 AND …`, one term per distinct bound."""
    terms = []
    for side, op in (("lower", ">="), ("upper", "<=")):
        by_bound: dict[float, list[str]] = {}
        for spec in UNITS.values():
            bound = getattr(spec, side)
            if bound is not None:
                by_bound.setdefault(bound, []).append(spec.name)
        for bound, names in sorted(by_bound.items()):
            terms.append(f"(unit NOT IN {sql_list(tuple(names))} OR value {op} {bound:g})")
    return " AND ".join(terms)


# Text bounds SQLite would not enforce by itself (PostgreSQL's VARCHAR does): the same limits on both backends.
OBSERVATION_TEXT_CHECK = (
    f"length(country) = {TEXT_LIMITS['country']} AND length(unit) <= {TEXT_LIMITS['unit']} "
    f"AND length(source_series) <= {TEXT_LIMITS['source_series']} AND length(vintage) <= {VINTAGE_COLUMN_LENGTH}"
)
YEAR_RANGE_CHECK = f"year BETWEEN {YEAR_RANGE[0]} AND {YEAR_RANGE[1]} AND year_start >= {YEAR_RANGE[0]}"
FETCH_RUN_STATUSES = ("running", "ok", "empty", "failed")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime}


class Source(Base):
    """A data provider the fetchers know (or `snapshot`, `user`, `aitrack` for derived series)."""

    __tablename__ = "source"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    producer: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    homepage: Mapped[str] = mapped_column(String(500), default="")
    licence: Mapped[str] = mapped_column(String(300), default="")
    citation: Mapped[str] = mapped_column(Text, default="")
    redistributable: Mapped[bool] = mapped_column(Boolean, default=False)
    cadence_days: Mapped[int] = mapped_column(Integer, default=365)


class RawPayload(Base):
    """A response body or file exactly as downloaded, content-addressed by sha256, with its provenance."""

    __tablename__ = "raw_payload"
    __table_args__ = (CheckConstraint("content IS NOT NULL OR storage_path IS NOT NULL", name="stored"),)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id"), index=True)
    url: Mapped[str] = mapped_column(Text)
    request_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[int] = mapped_column(Integer, default=200)
    media_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    retrieved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published: Mapped[str | None] = mapped_column(String(40))
    licence: Mapped[str] = mapped_column(String(300), default="")
    citation: Mapped[str] = mapped_column(Text, default="")
    redistributable: Mapped[bool] = mapped_column(Boolean, default=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # A response body (bounded by its source's max_body_bytes) is kept in the table, in the same transaction as the
    # observations parsed from it. An analyst's file (any size) is kept on disk by its hash instead: `storage_path`
    # is relative to the data directory of the host in `extra["host"]`.
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    storage_path: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Indicator(Base):
    """A catalog entry (or a user-registered indicator); `spec` keeps the full catalog entry."""

    __tablename__ = "indicator"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(40))
    category: Mapped[str] = mapped_column(String(40), default="user")
    direction: Mapped[str] = mapped_column(String(20), default="higher_is_better")
    comparison: Mapped[str] = mapped_column(String(20), default="pair")
    forecast_scale: Mapped[str] = mapped_column(String(10), default="log")
    cadence_days: Mapped[int] = mapped_column(Integer, default=365)
    origin: Mapped[str] = mapped_column(String(20), default="catalog")  # catalog | user
    caveats: Mapped[list[Any]] = mapped_column(default=list)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IndicatorSource(Base):
    """Which sources feed an indicator, in priority order (1 = preferred); drives v_latest_observation."""

    __tablename__ = "indicator_source"
    indicator_id: Mapped[str] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    priority: Mapped[int] = mapped_column(Integer)
    series: Mapped[str] = mapped_column(String(300), default="")


class FetchRun(Base):
    """One source's part of a refresh (or a snapshot load, or an import): status, counts, timings, error."""

    __tablename__ = "fetch_run"
    __table_args__ = (CheckConstraint(f"status IN {sql_list(FETCH_RUN_STATUSES)}", name="status"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(40), index=True)
    trigger: Mapped[str] = mapped_column(String(20), default="refresh")  # refresh | offline | import
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20))  # running | ok | empty | failed
    n_payloads: Mapped[int] = mapped_column(Integer, default=0)
    rows_added: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_revised: Mapped[int] = mapped_column(Integer, default=0)
    duration_s: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # Written first (status running) and beaten while the run lasts: an interrupted run is visible and marked failed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)


class Observation(Base):
    """Append-only: one row per (indicator, country, year, source, vintage); a revision is a new vintage."""

    __tablename__ = "observation"
    __table_args__ = (
        UniqueConstraint("indicator_id", "country", "year", "source_id", "vintage"),
        Index("ix_observation_lookup", "indicator_id", "country", "year"),
        CheckConstraint(f"value_kind IN {sql_list(VALUE_KINDS)}", name="value_kind"),
        CheckConstraint("year_start <= year", name="period"),
        CheckConstraint(unit_range_check(), name="unit_range"),
        CheckConstraint(YEAR_RANGE_CHECK, name="year_range"),
        CheckConstraint(OBSERVATION_TEXT_CHECK, name="text_bounds"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    indicator_id: Mapped[str] = mapped_column(ForeignKey("indicator.id"))
    country: Mapped[str] = mapped_column(String(3))
    year: Mapped[int] = mapped_column(Integer)
    year_start: Mapped[int] = mapped_column(Integer)  # == year for an annual value; a period total starts earlier
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    value_kind: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id"))
    source_series: Mapped[str] = mapped_column(String(300))
    retrieved_at: Mapped[datetime] = mapped_column(UtcDateTime)
    vintage: Mapped[str] = mapped_column(String(VINTAGE_COLUMN_LENGTH))
    snapshot_id: Mapped[str] = mapped_column(ForeignKey("raw_payload.sha256"), index=True)
    fetch_run_id: Mapped[int | None] = mapped_column(ForeignKey("fetch_run.id"), index=True)


class JobLock(Base):
    """Who holds a database-wide job lock (refresh, build, import, official forecast).

    On SQLite this row is the lock (taken by one atomic upsert, released by deleting it; a holder whose process is gone,
    or whose heartbeat is older than the lease, is replaced). On PostgreSQL the lock is a session advisory lock and this
    row only says who holds it.
    """

    __tablename__ = "job_lock"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    job: Mapped[str] = mapped_column(String(40))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    process_started: Mapped[str] = mapped_column(String(40), default="")
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ForecastRun(Base):
    """Everything needed to reproduce a forecast: as-of, horizon, configuration, code version, data fingerprint."""

    __tablename__ = "forecast_run"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    as_of: Mapped[int | None] = mapped_column(Integer)
    # official (the main job, the scheduled refresh, --publish) | adhoc (an analyst's call) | backtest (--as-of)
    kind: Mapped[str] = mapped_column(String(20), default="official")
    pair: Mapped[str] = mapped_column(String(7), default="CHN-USA")
    horizon: Mapped[int] = mapped_column(Integer)
    n_paths: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    configuration: Mapped[dict[str, Any]] = mapped_column(default=dict)
    code_version: Mapped[str] = mapped_column(String(80))
    data_fingerprint: Mapped[str] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)


class Forecast(Base):
    __tablename__ = "forecast"
    __table_args__ = (
        UniqueConstraint("run_id", "subject", "pair", "country", "model", "year"),
        Index("ix_forecast_subject", "subject", "country", "year"),
        CheckConstraint("lo_95 <= lo_80 AND lo_80 <= mean AND mean <= hi_80 AND hi_80 <= hi_95", name="nested"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("forecast_run.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(80))
    subject_kind: Mapped[str] = mapped_column(String(20))  # indicator | dimension
    pair: Mapped[str] = mapped_column(String(7), default="CHN-USA")
    country: Mapped[str] = mapped_column(String(3))
    model: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    mean: Mapped[float] = mapped_column(Float)
    lo_80: Mapped[float] = mapped_column(Float)
    hi_80: Mapped[float] = mapped_column(Float)
    lo_95: Mapped[float] = mapped_column(Float)
    hi_95: Mapped[float] = mapped_column(Float)
    nowcast: Mapped[bool] = mapped_column(Boolean, default=False)  # a past year whose data are not yet published


class Crossover(Base):
    __tablename__ = "crossover"
    __table_args__ = (UniqueConstraint("run_id", "subject", "pair"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("forecast_run.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(80), index=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    pair: Mapped[str] = mapped_column(String(7))
    leader_now: Mapped[str | None] = mapped_column(String(7))
    leader_since: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    data_end_year: Mapped[int | None] = mapped_column(Integer)
    last_crossing_year: Mapped[int | None] = mapped_column(Integer)
    historical_crossings: Mapped[list[Any]] = mapped_column(default=list)
    median_year: Mapped[int | None] = mapped_column(Integer)
    lo_80: Mapped[int | None] = mapped_column(Integer)
    hi_80: Mapped[int | None] = mapped_column(Integer)
    lo_95: Mapped[int | None] = mapped_column(Integer)
    hi_95: Mapped[int | None] = mapped_column(Integer)
    p_by: Mapped[dict[str, Any]] = mapped_column(default=dict)
    p_after_horizon: Mapped[float | None] = mapped_column(Float)
    p_crossed_by_now: Mapped[float | None] = mapped_column(Float)
    horizon: Mapped[int | None] = mapped_column(Integer)
    n_paths: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[str | None] = mapped_column(String(40))
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[list[Any]] = mapped_column(default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DimensionScore(Base):
    """A dimension's pair score per year from one build (0.5 = parity), its Monte Carlo band and coverage."""

    __tablename__ = "dimension_score"
    __table_args__ = (
        UniqueConstraint("build_id", "dimension", "pair", "year"),
        Index("ix_dimension_score_latest", "dimension", "pair", "computed_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    build_id: Mapped[str] = mapped_column(String(36), index=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    dimension: Mapped[str] = mapped_column(String(20))
    pair: Mapped[str] = mapped_column(String(7))
    year: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    lo_80: Mapped[float | None] = mapped_column(Float)
    hi_80: Mapped[float | None] = mapped_column(Float)
    lo_95: Mapped[float | None] = mapped_column(Float)
    hi_95: Mapped[float | None] = mapped_column(Float)
    n_present: Mapped[int] = mapped_column(Integer)
    n_indicators: Mapped[int] = mapped_column(Integer)
    weight_present: Mapped[float] = mapped_column(Float)
    weight_nowcast: Mapped[float] = mapped_column(Float, default=0.0)  # of weight_present, entered as nowcasts
    status: Mapped[str] = mapped_column(String(20))  # ok | insufficient_data
    leader: Mapped[str | None] = mapped_column(String(7))
    data_fingerprint: Mapped[str] = mapped_column(String(64))


class Evidence(Base):
    """A figure cited in a seed document, with its line and quote; shown beside series, never used as history."""

    __tablename__ = "evidence"
    evidence_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    document: Mapped[str] = mapped_column(String(80))
    line: Mapped[int] = mapped_column(Integer)
    quote: Mapped[str] = mapped_column(Text)
    indicator: Mapped[str] = mapped_column(String(80), index=True)
    country: Mapped[str | None] = mapped_column(String(7))
    period_start: Mapped[int | None] = mapped_column(Integer)
    period_end: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(40))
    value_kind: Mapped[str] = mapped_column(String(20), index=True)
    source_named: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
