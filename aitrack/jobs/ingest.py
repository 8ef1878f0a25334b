"""Ingest jobs: the embedded snapshot, live sources, an analyst's file and the seed evidence → stored observations,
one source per transaction, each outcome a `SourceOutcome`."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import httpx
import polars as pl

from aitrack.errors import UsageError
from contracts.observations import ObservationFrameError
from db.locks import this_process
from db.write import IndicatorRecord, PayloadRecord, SourceRecord, UnknownIndicatorError, Writer
from fetchers.base import Fetcher, RawPayload, SourceInfo, mark_unfinished_years
from fetchers.errors import FetchError
from fetchers.http import Deadline
from fetchers.registry import LIVE_SOURCE_IDS, SOURCES, http_policies
from indicators.catalog import Catalog

log = logging.getLogger("aitrack.ingest")

ProgressCallback = Callable[[str, str], None]  # (source id, event: "start" | "done" | "failed")
FetchPlan = list[tuple[Fetcher, object, Callable[[], object]]]  # (fetcher, query, client factory)


@dataclass
class SourceOutcome:
    source: str
    status: str  # ok | empty | failed
    added: int = 0
    revised: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _noop(_source: str, _event: str) -> None:
    return None


def source_record(info: SourceInfo) -> SourceRecord:
    return SourceRecord(
        id=info.id, producer=info.producer, title=info.title, homepage=info.homepage, licence=info.licence,
        citation=info.citation, redistributable=info.redistributable, cadence_days=info.cadence_days,
    )  # fmt: skip


def payload_record(payload: RawPayload, *, licence: str, citation: str, redistributable: bool,
                   data_dir: Path | None = None) -> PayloadRecord:  # fmt: skip
    """The writer's record of a payload: its bytes inline, or (a file-backed payload) its path under `data_dir`."""
    extra = json.loads(json.dumps(payload.extra, default=str))
    content: bytes | None = payload.content
    storage_path = None
    if payload.path is not None:
        content = None
        path = Path(payload.path).resolve()
        base = Path(data_dir).resolve() if data_dir is not None else None
        storage_path = path.relative_to(base).as_posix() if base and path.is_relative_to(base) else str(path)
        extra["host"] = this_process().host
    return PayloadRecord(
        sha256=payload.sha256, source_id=payload.source, url=payload.url, request_params=dict(payload.params),
        status=payload.status, media_type=payload.media_type, retrieved_at=payload.retrieved_at,
        published=payload.published, licence=licence, citation=citation, redistributable=redistributable,
        content=content, extra=extra, storage_path=storage_path, size_bytes=payload.size_bytes,
    )  # fmt: skip


def store(
    writer: Writer,
    *,
    run_source: str,
    trigger: str,
    sources: Sequence[SourceRecord],
    payloads: Sequence[PayloadRecord],
    observations: pl.DataFrame | Iterable[pl.DataFrame],
    started_at: datetime,
    t0: float,
    run_id: int | None = None,
    indicators: Sequence[IndicatorRecord] = (),
) -> SourceOutcome:
    """One source's payloads, the indicators it registers and its observations in one transaction; unfinished years of
    fetched data are provisional. `observations` may be an iterable of chunk frames (an analyst's file)."""
    if trigger in ("refresh", "offline") and isinstance(observations, pl.DataFrame):
        observations = mark_unfinished_years(observations)
    stats = writer.ingest(
        run_source=run_source, trigger=trigger, started_at=started_at, sources=sources, payloads=payloads,
        observations=observations, run_id=run_id, indicators=indicators,
    )  # fmt: skip
    log.info(
        "source %s stored: %d added, %d revised, %d unchanged", run_source, stats.added, stats.revised,
        stats.unchanged, extra={"fields": {"source": run_source, "trigger": trigger, "added": stats.added,
                                           "revised": stats.revised, "unchanged": stats.unchanged}},
    )  # fmt: skip
    return SourceOutcome(
        source=run_source, status="ok" if stats.total else "empty", added=stats.added,
        revised=stats.revised, unchanged=stats.unchanged, seconds=time.perf_counter() - t0,
    )  # fmt: skip


def _failed(writer: Writer, source: str, trigger: str, started_at: datetime, t0: float, exc: BaseException,
            run_id: int | None = None) -> SourceOutcome:  # fmt: skip
    message = writer.scrubber.text(f"{type(exc).__name__}: {exc}") or type(exc).__name__
    log.warning("source %s failed: %s", source, message, extra={"fields": {"source": source, "trigger": trigger}})
    writer.record_failed_run(run_source=source, trigger=trigger, started_at=started_at, error=message, run_id=run_id)
    return SourceOutcome(source=source, status="failed", seconds=time.perf_counter() - t0, error=message)


def _interrupted(writer: Writer, source: str, trigger: str, started_at: datetime, run_id: int,
                 exc: BaseException) -> None:  # fmt: skip
    """A run stopped by a signal, Ctrl-C or an unexpected error: its running row says so before the error goes on."""
    try:
        reason = "interrupted" if not isinstance(exc, Exception) else "internal error"
        writer.record_failed_run(run_source=source, trigger=trigger, started_at=started_at, run_id=run_id,
                                 error=f"{reason}: {type(exc).__name__}: {exc}")  # fmt: skip
    except Exception:  # noqa: BLE001 - the original error matters more; the next job marks the run
        log.exception("could not mark run %s of %s as interrupted", run_id, source)


def series_maps(catalog: Catalog) -> dict[str, dict[str, tuple[str, str]]]:
    """Source id → the catalog's series map for it (provider code → indicator, unit): what fetchers and snapshot
    parsers name their rows with, so that no fetcher module or manifest repeats it."""
    return {sid: catalog.series_map(sid) for sid, spec in SOURCES.items() if spec.series_from_catalog}


def load_snapshot(writer: Writer, catalog: Catalog, *, root: Path | None = None, progress: ProgressCallback = _noop,
                  sources: Sequence[str] | None = None) -> list[SourceOutcome]:  # fmt: skip
    """Load the embedded snapshot: each source's files in its own transaction, recorded as an `offline` run."""
    from fetchers.snapshot import SnapshotFetcher

    fetcher = SOURCES["snapshot"].fetcher
    if root is not None:
        fetcher = SnapshotFetcher(fetcher.parsers, root, fetcher.series_parsers)  # type: ignore[union-attr]
    query = fetcher.Query(series=series_maps(catalog), sources=tuple(sources) if sources else None)  # type: ignore[union-attr]
    payloads = fetcher.extract(query, None)  # type: ignore[union-attr]
    by_source: dict[str, list[RawPayload]] = defaultdict(list)
    for payload in payloads:
        by_source[payload.source].append(payload)
    outcomes = []
    for source, group in sorted(by_source.items()):
        progress(source, "start")
        started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
        run_id = writer.start_run(run_source=source, trigger="offline", started_at=started_at)
        try:
            frame = fetcher.transform(group, query)  # type: ignore[union-attr]
            record = source_record(SOURCES[source].info)
            records = [
                payload_record(p, licence=p.extra["licence"], citation=p.extra["citation"],
                               redistributable=p.extra["redistributable"])  # fmt: skip
                for p in group
            ]
            outcome = store(writer, run_source=source, trigger="offline", sources=[record], payloads=records,
                            observations=frame, started_at=started_at, t0=t0, run_id=run_id)  # fmt: skip
        except (FetchError, ValueError, KeyError) as exc:
            outcome = _failed(writer, source, "offline", started_at, t0, exc, run_id)
        except BaseException as exc:
            _interrupted(writer, source, "offline", started_at, run_id, exc)
            raise
        progress(source, "failed" if outcome.status == "failed" else "done")
        outcomes.append(outcome)
    return outcomes


def load_evidence(writer: Writer) -> int:
    from indicators.evidence import load_seed_evidence

    return writer.replace_evidence(load_seed_evidence())


def run_fetchers(
    writer: Writer, plan: Iterable[tuple[Fetcher, object, Callable[[], object]]], *, trigger: str, workers: int = 3,
    progress: ProgressCallback = _noop, deadline: Deadline | None = None,
) -> list[SourceOutcome]:  # fmt: skip
    """Run (fetcher, query, client factory) triples with bounded concurrency; each source lands or fails alone.

    Every source's fetch_run row is written `running` before it starts. `deadline` is the refresh's: a source not
    started by then fails at once, and the clients built by `live_plan(deadline=…)` stop their requests at it. An
    interruption (SIGTERM, Ctrl-C) cancels the deadline, so the sources in flight stop within a second.
    """
    deadline = deadline or Deadline(None, what="refresh deadline")

    def one(item: tuple[Fetcher, object, Callable[[], object]]) -> SourceOutcome:
        fetcher, query, make_client = item
        source = fetcher.info.id
        progress(source, "start")
        started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
        run_id = writer.start_run(run_source=source, trigger=trigger, started_at=started_at)
        if deadline.expired:
            outcome = _failed(writer, source, trigger, started_at, t0,
                              FetchError(f"{source}: not started, {deadline.reason()}"), run_id)  # fmt: skip
            progress(source, "failed")
            return outcome
        try:
            client = make_client()
            try:
                payloads = fetcher.extract(query, client)  # type: ignore[arg-type]
            finally:
                close = getattr(client, "close", None)
                if close:
                    close()
            frame = fetcher.transform(payloads, query)  # type: ignore[arg-type]
            info = fetcher.info
            records = [
                payload_record(p, licence=info.licence, citation=info.citation, redistributable=info.redistributable)
                for p in payloads
            ]
            outcome = store(writer, run_source=source, trigger=trigger, sources=[source_record(info)],
                            payloads=records, observations=frame, started_at=started_at, t0=t0, run_id=run_id)  # fmt: skip
        except (FetchError, ValueError, OSError, httpx.HTTPError) as exc:
            # One source failing (network, provider, schema) never stops the others.
            outcome = _failed(writer, source, trigger, started_at, t0, exc, run_id)
        except BaseException as exc:
            _interrupted(writer, source, trigger, started_at, run_id, exc)
            raise
        progress(source, "failed" if outcome.status == "failed" else "done")
        return outcome

    items = list(plan)
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(items) or 1)))
    try:
        return list(pool.map(one, items))
    except BaseException:
        deadline.cancel()  # the sources in flight stop at their next socket read
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def http_config(settings) -> "HttpConfig":  # noqa: F821 - imported lazily
    """Settings + the registry's per-source policies → the HTTP layer's configuration."""
    from fetchers.http import HttpConfig, base_urls_from_env

    return HttpConfig(
        contact_email=settings.contact_email,
        read_timeout=settings.http_timeout_s,
        max_retries=settings.http_max_retries,
        backoff_base=settings.http_backoff_base_s,
        base_urls={**base_urls_from_env(), **settings.base_url_overrides()},
        api_keys=settings.api_keys(),
        policies=http_policies(),
        cache_dir=settings.data_dir / "cache" / "http",
        request_deadline_s=settings.http_request_deadline_s,
        max_body_bytes=settings.http_max_body_bytes,
        extra_secrets=tuple(settings.secret_values()),
    )


def live_plan(settings, catalog: Catalog, *, sources: Sequence[str] | None, since: int | None,
              deadline: Deadline | None = None) -> FetchPlan:  # fmt: skip
    """(fetcher, query, client factory) for each requested live source; an unknown id is a usage error."""
    from fetchers.http import build_client

    wanted = list(sources) if sources else list(LIVE_SOURCE_IDS)
    unknown = [s for s in wanted if s not in LIVE_SOURCE_IDS]
    if unknown:
        raise UsageError(
            f"unknown source {', '.join(unknown)}; live sources are: {', '.join(LIVE_SOURCE_IDS)} "
            "(use --offline for the embedded snapshot, `aitrack import` for a file)"
        )
    config = http_config(settings)
    plan: FetchPlan = []
    for sid in wanted:
        spec = SOURCES[sid]
        fetcher = spec.fetcher
        assert fetcher is not None
        options: dict = {} if since is None else {"since": since}
        if spec.series_from_catalog:  # the fetcher names its rows from the catalog's series map
            options["series"] = catalog.series_map(sid)
        query = fetcher.Query(**options)

        def factory(sid=sid, base=spec.base_url):
            return build_client(sid, base, config, deadline=deadline)

        plan.append((fetcher, query, factory))
    return plan


def import_user_file(writer: Writer, catalog: Catalog, path: Path, *, data_dir: Path) -> tuple[SourceOutcome, list[str]]:
    """An analyst's file through `UserFetcher`: checked while it is copied to `<data_dir>/raw/` (the first bad row stops
    the reading; nothing is written), then read again in chunks and stored with the indicators it registers, all in one
    transaction. Memory stays bounded whatever the file's size."""
    from aitrack.jobs.catalog import indicator_records
    from fetchers.user import UserFetcher, UserFileError, UserQuery

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    catalog_units = {e.id: e.unit for e in catalog}
    fetcher = UserFetcher(known_indicators=catalog.ids(), catalog_units=catalog_units, spool_dir=data_dir / "raw")
    query = UserQuery(files=(path,))
    started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
    try:
        [payload] = fetcher.extract(query)
    except UserFileError as exc:
        raise UsageError(f"{path.name}: rejected, nothing imported: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path.name}: cannot be read: {exc.strerror or exc}") from None
    summary = payload.summary
    new_ids = []
    for indicator_id, unit in summary.new_indicators:
        try:
            catalog.register_user_indicator(indicator_id, unit, **summary.forecast_options.get(indicator_id, {}))
        except ValueError as exc:
            raise UsageError(f"{path.name}: rejected, nothing imported: {exc}") from None
        new_ids.append(indicator_id)
    records = [r for r in indicator_records(catalog) if r.id in set(new_ids)]
    record = payload_record(payload, licence=(summary.licence or "as stated by the importer")[:300],
                            citation=summary.citation or "", redistributable=False, data_dir=data_dir)  # fmt: skip
    run_id = writer.start_run(run_source="user", trigger="import", started_at=started_at)
    try:
        outcome = store(writer, run_source="user", trigger="import", sources=[source_record(SOURCES["user"].info)],
                        payloads=[record], observations=fetcher.iter_chunks(payload, query), started_at=started_at,
                        t0=t0, run_id=run_id, indicators=records)  # fmt: skip
    except (UserFileError, ObservationFrameError, UnknownIndicatorError) as exc:
        _failed(writer, "user", "import", started_at, t0, exc, run_id)
        raise UsageError(f"{path.name}: rejected, nothing imported: {exc}") from None
    except BaseException as exc:
        _interrupted(writer, "user", "import", started_at, run_id, exc)
        raise
    return outcome, new_ids
