"""The jobs behind the commands: fetch or load sources into the database, build indicators and dimensions, forecast.

Each function takes a Repository (and settings where it needs the network) and returns plain result records;
rendering is the CLI's job.
"""

from __future__ import annotations

import hashlib
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

from contracts.dimensions import DIMENSION_NAMES
from contracts.kinds import HISTORY_KINDS
from db.repository import IndicatorRecord, PayloadRecord, Repository, SourceRecord
from fetchers.base import Fetcher, RawPayload, SourceInfo, mark_unfinished_years
from fetchers.errors import FetchError
from indicators.catalog import Catalog, load_catalog

log = logging.getLogger("aitrack.pipeline")

ProgressCallback = Callable[[str, str], None]  # (source id, event: "start" | "done" | "failed")


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


# ---------------------------------------------------------------------------------------------- catalog
def indicator_records(catalog: Catalog, *, origin: str = "catalog") -> list[IndicatorRecord]:
    return [
        IndicatorRecord(
            id=e.id,
            name=e.name,
            unit=e.unit,
            category=e.category.value,
            direction=e.direction,
            comparison=e.comparison,
            forecast_scale=e.forecast_scale or "level",
            cadence_days=e.cadence_days,
            origin="user" if any(s.source == "user" for s in e.sources) else origin,
            caveats=tuple(e.caveats),
            sources=tuple((s.source, s.series) for s in e.sources),
            spec=e.model_dump(mode="json"),
        )
        for e in catalog
    ]


def current_catalog(repo: Repository | None = None) -> Catalog:
    """The packaged catalog plus the user indicators registered in this database by `aitrack import`."""
    catalog = load_catalog()
    if repo is not None:
        for spec in repo.user_indicator_specs():
            if spec["id"] not in catalog:
                stored = spec.get("spec") or {}
                catalog.register_user_indicator(
                    spec["id"], spec["unit"], name=spec["name"], bounds=stored.get("bounds"),
                    scale=stored.get("forecast_scale") if stored.get("scale_fixed") else None,
                )  # fmt: skip
    return catalog


def sync_catalog(repo: Repository, catalog: Catalog) -> None:
    repo.sync_indicators(indicator_records(catalog))


# ---------------------------------------------------------------------------------------------- ingest
def source_record(info: SourceInfo) -> SourceRecord:
    return SourceRecord(
        id=info.id, producer=info.producer, title=info.title, homepage=info.homepage, licence=info.licence,
        citation=info.citation, redistributable=info.redistributable, cadence_days=info.cadence_days,
    )  # fmt: skip


def payload_record(payload: RawPayload, *, licence: str, citation: str, redistributable: bool) -> PayloadRecord:
    return PayloadRecord(
        sha256=payload.sha256, source_id=payload.source, url=payload.url, request_params=dict(payload.params),
        status=payload.status, media_type=payload.media_type, retrieved_at=payload.retrieved_at,
        published=payload.published, licence=licence, citation=citation, redistributable=redistributable,
        content=payload.content, extra=json.loads(json.dumps(payload.extra, default=str)),
    )  # fmt: skip


def _ingest(
    repo: Repository,
    *,
    run_source: str,
    trigger: str,
    sources: Sequence[SourceRecord],
    payloads: Sequence[PayloadRecord],
    observations: pl.DataFrame,
    started_at: datetime,
    t0: float,
) -> SourceOutcome:
    if trigger in ("refresh", "offline"):
        observations = mark_unfinished_years(observations)
    stats = repo.ingest(
        run_source=run_source, trigger=trigger, started_at=started_at, sources=sources, payloads=payloads,
        observations=observations,
    )  # fmt: skip
    log.info(
        "source %s stored: %d added, %d revised, %d unchanged", run_source, stats.added, stats.revised,
        stats.unchanged, extra={"fields": {"source": run_source, "trigger": trigger, "added": stats.added,
                                           "revised": stats.revised, "unchanged": stats.unchanged}},
    )  # fmt: skip
    return SourceOutcome(
        source=run_source, status="ok" if observations.height else "empty", added=stats.added,
        revised=stats.revised, unchanged=stats.unchanged, seconds=time.perf_counter() - t0,
    )  # fmt: skip


def _failed(repo: Repository, source: str, trigger: str, started_at: datetime, t0: float, exc: Exception) -> SourceOutcome:
    message = f"{type(exc).__name__}: {exc}"
    log.warning("source %s failed: %s", source, message, extra={"fields": {"source": source, "trigger": trigger}})
    repo.record_failed_run(run_source=source, trigger=trigger, started_at=started_at, error=message)
    return SourceOutcome(source=source, status="failed", seconds=time.perf_counter() - t0, error=message)


def load_snapshot(
    repo: Repository, *, root: Path | None = None, progress: ProgressCallback = _noop
) -> list[SourceOutcome]:
    """Load the embedded snapshot: each source's files in its own transaction, recorded as an `offline` run."""
    from fetchers.curated.snapshot import SnapshotFetcher

    fetcher = SnapshotFetcher(root)
    query = fetcher.Query()
    payloads = fetcher.extract(query, None)
    by_source: dict[str, list[RawPayload]] = defaultdict(list)
    for payload in payloads:
        by_source[payload.source].append(payload)
    from fetchers.registry import SOURCE_INFO

    outcomes = []
    for source, group in sorted(by_source.items()):
        progress(source, "start")
        started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
        try:
            frame = fetcher.transform(group, query)
            if source in SOURCE_INFO:
                record = source_record(SOURCE_INFO[source])
            else:
                first = group[0].extra
                record = SourceRecord(
                    id=source, producer=first["producer"], title=first["title"], homepage=first["url"],
                    licence=first["licence"], citation=first["citation"], redistributable=first["redistributable"],
                )  # fmt: skip
            records = [
                payload_record(p, licence=p.extra["licence"], citation=p.extra["citation"],
                               redistributable=p.extra["redistributable"])  # fmt: skip
                for p in group
            ]
            outcome = _ingest(repo, run_source=source, trigger="offline", sources=[record], payloads=records,
                              observations=frame, started_at=started_at, t0=t0)  # fmt: skip
        except (FetchError, ValueError) as exc:
            outcome = _failed(repo, source, "offline", started_at, t0, exc)
        progress(source, "failed" if outcome.status == "failed" else "done")
        outcomes.append(outcome)
    return outcomes




def load_evidence(repo: Repository) -> int:
    from indicators.evidence import load_seed_evidence

    return repo.replace_evidence(load_seed_evidence())


def data_fingerprint(observations: pl.DataFrame) -> str:
    """sha256 over the sorted (indicator, country, year, value, vintage, source) rows a computation used."""
    cols = ["indicator", "country", "year", "value", "vintage", "source"]
    frame = observations.select(cols).sort(cols)
    digest = hashlib.sha256()
    digest.update(frame.write_csv().encode())
    return digest.hexdigest()


def run_fetchers(
    repo: Repository,
    fetchers: Iterable[tuple[Fetcher, object, Callable[[], object]]],
    *,
    trigger: str,
    workers: int = 3,
    progress: ProgressCallback = _noop,
) -> list[SourceOutcome]:
    """Run (fetcher, query, client factory) triples with bounded concurrency; each source lands or fails alone."""

    def one(item: tuple[Fetcher, object, Callable[[], object]]) -> SourceOutcome:
        fetcher, query, make_client = item
        source = fetcher.info.id
        progress(source, "start")
        started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
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
            outcome = _ingest(repo, run_source=source, trigger=trigger, sources=[source_record(info)],
                              payloads=records, observations=frame, started_at=started_at, t0=t0)  # fmt: skip
        except (FetchError, ValueError, OSError, httpx.HTTPError) as exc:
            # One source failing (network, provider, schema) never stops the others.
            outcome = _failed(repo, source, trigger, started_at, t0, exc)
        progress(source, "failed" if outcome.status == "failed" else "done")
        return outcome

    items = list(fetchers)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items) or 1))) as pool:
        return list(pool.map(one, items))


# ---------------------------------------------------------------------------------------------- live refresh
LIVE_SOURCE_IDS = ("worldbank", "openalex", "oecd", "owid", "epoch")


def http_config(settings) -> "HttpConfig":  # noqa: F821 - imported lazily
    from fetchers.http import HttpConfig, base_urls_from_env

    return HttpConfig(
        contact_email=settings.contact_email,
        read_timeout=settings.http_timeout_s,
        max_retries=settings.http_max_retries,
        backoff_base=settings.http_backoff_base_s,
        base_urls={**base_urls_from_env(), **settings.base_url_overrides()},
        api_keys=settings.api_keys(),
        cache_dir=settings.data_dir / "cache" / "http",
    )


def live_plan(settings, *, sources: Sequence[str] | None, since: int | None) -> list[tuple[Fetcher, object, Callable]]:
    """(fetcher, query, client factory) for each requested live source; an unknown id is a usage error."""
    from aitrack.errors import UsageError
    from fetchers.http import build_client
    from fetchers.registry import FETCHERS

    wanted = list(sources) if sources else list(LIVE_SOURCE_IDS)
    unknown = [s for s in wanted if s not in LIVE_SOURCE_IDS]
    if unknown:
        raise UsageError(
            f"unknown source {', '.join(unknown)}; live sources are: {', '.join(LIVE_SOURCE_IDS)} "
            "(use --offline for the embedded snapshot, `aitrack import` for a file)"
        )
    config = http_config(settings)
    plan = []
    for sid in wanted:
        fetcher = FETCHERS[sid]
        query = fetcher.Query(since=since) if since is not None else fetcher.Query()
        base = fetcher.default_base_url

        def factory(sid=sid, base=base):
            return build_client(sid, base, config)

        plan.append((fetcher, query, factory))
    return plan


# ---------------------------------------------------------------------------------------------- user import
def import_user_file(repo: Repository, catalog: Catalog, path: Path) -> tuple[SourceOutcome, list[str]]:
    """Validate the whole file first (nothing is written if any row is bad), register new indicators, store."""
    from aitrack.errors import UsageError
    from fetchers.curated.user import UserFetcher, UserFileError, parse_user_csv

    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
    content = path.read_bytes()
    try:
        parsed = parse_user_csv(content, known_indicators=set(catalog.ids()), filename=path.name, retrieved_at=started_at)
    except UserFileError as exc:
        raise UsageError(f"{path.name}: rejected, nothing imported: {exc}") from None
    new_ids = []
    for indicator_id, unit in parsed.new_indicators:
        try:
            catalog.register_user_indicator(indicator_id, unit, **(parsed.forecast_options or {}).get(indicator_id, {}))
        except ValueError as exc:
            raise UsageError(f"{path.name}: rejected, nothing imported: {exc}") from None
        new_ids.append(indicator_id)
    if new_ids:
        repo.sync_indicators([r for r in indicator_records(catalog) if r.id in set(new_ids)])
    info = UserFetcher.info
    payload = parsed.payload
    record = payload_record(payload, licence=parsed.licence or "as stated by the importer", citation=parsed.citation or "",
                            redistributable=False)  # fmt: skip
    outcome = _ingest(repo, run_source="user", trigger="import", sources=[source_record(info)], payloads=[record],
                      observations=parsed.observations, started_at=started_at, t0=t0)  # fmt: skip
    return outcome, new_ids


# ---------------------------------------------------------------------------------------------- build
DERIVED_SOURCE = SourceInfo(
    id="aitrack",
    producer="aitrack",
    title="Indicators derived by aitrack from stored observations (indicators/derive.py)",
    homepage="docs/methodology.md",
    licence="as its inputs",
    citation="aitrack derived indicators; see the inputs listed in the raw payload",
    redistributable=True,
    cadence_days=365,
)


@dataclass
class BuildResult:
    derived: SourceOutcome | None
    build_id: str
    dimension_rows: int
    fingerprint: str
    scores: pl.DataFrame


def build(repo: Repository, catalog: Catalog, *, n_draws: int = 2000, seed: int = 0) -> BuildResult:
    """Compute derived indicators (stored with their inputs as a raw payload), then the four dimension scores."""
    import uuid

    from indicators.composites import dimension_scores, pair_shares
    from indicators.derive import DERIVATIONS, derive_all

    started_at, t0 = datetime.now(timezone.utc), time.perf_counter()
    observations = repo.latest_observations(kinds=HISTORY_KINDS)
    derived = derive_all(observations, catalog)
    outcome = None
    if derived.height:
        inputs = sorted({i for d in DERIVATIONS.values() for i in d.inputs})
        used = observations.filter(pl.col("indicator").is_in(inputs)).select(
            "indicator", "country", "year", "value", "source", "vintage", "snapshot_id"
        ).sort("indicator", "country", "year")
        # The derivation's inputs are its raw payload: any derived number traces to the rows it came from.
        content = used.write_csv().encode()
        payload = RawPayload(
            source="aitrack", url="aitrack://derive", params={"derivations": sorted(DERIVATIONS)}, status=200,
            content=content, retrieved_at=started_at, media_type="text/csv",
        )  # fmt: skip
        derived = derived.with_columns(pl.lit(payload.sha256).alias("snapshot_id"))
        record = payload_record(payload, licence=DERIVED_SOURCE.licence, citation=DERIVED_SOURCE.citation,
                                redistributable=True)  # fmt: skip
        outcome = _ingest(repo, run_source="aitrack", trigger="build", sources=[source_record(DERIVED_SOURCE)],
                          payloads=[record], observations=derived, started_at=started_at, t0=t0)  # fmt: skip
        observations = repo.latest_observations(kinds=HISTORY_KINDS)
    shares = pair_shares(observations, catalog)
    scores = dimension_scores(shares, catalog, n_draws=n_draws, seed=seed).with_columns(pl.lit("CHN-USA").alias("pair"))
    fingerprint = data_fingerprint(observations)
    build_id = str(uuid.uuid4())
    n = repo.save_dimension_scores(scores, build_id=build_id, fingerprint=fingerprint)
    return BuildResult(derived=outcome, build_id=build_id, dimension_rows=n, fingerprint=fingerprint, scores=scores)


# ---------------------------------------------------------------------------------------------- forecast


@dataclass
class ForecastOutcome:
    run_id: str
    as_of: int | None
    forecasts: pl.DataFrame  # subject, subject_kind, country, model, year, mean, lo_80, hi_80, lo_95, hi_95
    crossovers: list[dict]
    warnings: dict[str, list[str]]
    seconds: float


def _code_version() -> str:
    from aitrack import __version__

    return __version__


def series_spec(entry) -> "SeriesSpec":  # noqa: F821 - imported lazily
    """A catalog entry's forecast spec: its bounds (else its unit's range), its scale as the preferred one."""
    from contracts.units import unit_spec
    from forecasts import SeriesSpec

    unit = unit_spec(entry.unit)
    bounds = tuple(entry.bounds) if entry.bounds else (unit.lower, unit.upper)
    fixed = entry.forecast_scale if entry.scale_fixed else None
    # A unit the project does not know (an import's own) implies no scale: the backtest alone chooses.
    preferred = entry.forecast_scale if unit.family != "other" else None
    return SeriesSpec(subject=entry.id, scale=fixed, bounds=bounds, preferred_scale=preferred)


def forecast_subjects(
    repo: Repository,
    catalog: Catalog,
    *,
    indicators: Sequence[str] | None = None,
    dimensions: Sequence[str] | None = None,
    as_of: int | None = None,
    horizon: int = 15,
    n_paths: int = 2000,
    seed: int = 0,
    workers: int = 2,
    store: bool = True,
) -> ForecastOutcome:
    """Forecast pair indicators and dimensions from data up to `as_of`; crossovers from joint paths; store the run."""
    import uuid

    from aitrack.errors import UsageError
    from forecasts import ForecastConfig, ForecastJob, forecast_dimension, forecast_many
    from indicators.composites import pair_shares

    t0 = time.perf_counter()
    unknown = [i for i in indicators or () if i not in catalog]
    if unknown:
        raise UsageError(f"unknown indicator {', '.join(unknown)}; see `aitrack status` or indicators/catalog.yaml")
    bad_dims = [d for d in dimensions or () if d not in DIMENSION_NAMES]
    if bad_dims:
        raise UsageError(f"unknown dimension {', '.join(bad_dims)}; choose from {', '.join(DIMENSION_NAMES)}")
    observations = repo.latest_observations(kinds=HISTORY_KINDS, max_year=as_of)
    pair = ("CHN", "USA")
    if indicators is None and dimensions is None:
        wanted_ind = [e.id for e in catalog if e.comparison == "pair"]
        wanted_dim = list(DIMENSION_NAMES)
    else:
        wanted_ind = list(indicators or [])
        wanted_dim = list(dimensions or [])
        not_pair = [i for i in wanted_ind if catalog.get(i).comparison != "pair"]
        if not_pair:
            raise UsageError(
                f"{', '.join(not_pair)}: not a CHN–USA pair series (single-country, bilateral or evidence-only); "
                "nothing to cross"
            )
    # A dimension's paths need its members' indicator paths.
    needed = list(dict.fromkeys(wanted_ind + [m for d in wanted_dim for m in catalog.dimension_weights(d)]))
    config = ForecastConfig(horizon=horizon, n_paths=n_paths, seed=seed, workers=workers)
    jobs = []
    for indicator in needed:
        entry = catalog.get(indicator)
        history = observations.filter(
            (pl.col("indicator") == indicator) & pl.col("country").is_in(pair)
        ).select("country", "year", "value")
        jobs.append(ForecastJob(history=history, spec=series_spec(entry), pair=pair, as_of=as_of))
    results = {job.spec.subject: res for job, res in zip(jobs, forecast_many(jobs, config))}

    frames, crossovers, warnings = [], [], {}
    for indicator in wanted_ind:
        result = results[indicator]
        if result.forecasts.height:
            frames.append(result.forecasts.with_columns(
                pl.lit(indicator).alias("subject"), pl.lit("indicator").alias("subject_kind")
            ))  # fmt: skip
        cx = result.crossover(config.report_years).to_dict()
        cx.update(kind="indicator", subject_kind="indicator",
                  source=", ".join(catalog.source_priority(indicator)))  # fmt: skip
        cx["details"] = {"notes": cx.pop("notes", []), "residual_correlation": result.residual_correlation,
                         "selected": result.selected, "fits": result.fits,
                         # round-2 crossover fields the crossover table has no column for yet
                         **{k: cx.get(k) for k in ("data_end_year", "p_crossed_by_now", "leader_since")}}  # fmt: skip
        crossovers.append(cx)
        if result.warnings:
            warnings[indicator] = list(result.warnings)
    shares = pair_shares(observations, catalog)
    for dimension in wanted_dim:
        spec = catalog.dimensions[dimension]
        weights = catalog.dimension_weights(dimension)
        forecast = forecast_dimension(
            {m: results[m] for m in weights}, shares, weights, spec.dirichlet_concentration, config,
            subject=dimension, directions={m: catalog.get(m).direction for m in weights},
            min_weight_present=spec.coverage_threshold, min_indicators=spec.min_indicators, pair=pair,
        )  # fmt: skip
        if forecast.forecasts.height:
            frames.append(forecast.forecasts.select(
                "subject", "year", "mean", "lo_80", "hi_80", "lo_95", "hi_95"
            ).with_columns(pl.lit("dimension").alias("subject_kind"), pl.lit(pair[0]).alias("country"),
                           pl.lit("composite").alias("model"), pl.lit("composite").alias("scale"),
                           pl.lit(None, pl.String).alias("weights"), pl.lit(None, pl.Float64).alias("widening_80"),
                           pl.lit(None, pl.Float64).alias("widening_95"),
                           pl.lit(None, pl.Float64).alias("backtest_score")))  # fmt: skip
        cx = forecast.crossover.to_dict()
        cx.update(kind="dimension", subject_kind="dimension", source="composite")
        cx["details"] = {"notes": cx.pop("notes", []),
                         **{k: cx.get(k) for k in ("data_end_year", "p_crossed_by_now", "leader_since")}}
        crossovers.append(cx)
        if forecast.warnings:
            warnings[dimension] = list(forecast.warnings)
    columns = ["subject", "subject_kind", "country", "model", "year", "mean", "lo_80", "hi_80", "lo_95", "hi_95",
               "scale", "weights", "widening_80", "widening_95", "backtest_score"]  # the last five: fit metadata
    table = pl.concat([f.select(columns) for f in frames], how="diagonal_relaxed").select(columns) if frames else (
        pl.DataFrame(schema={c: (pl.Int64 if c == "year" else pl.String if c in ("subject", "subject_kind", "country",
                     "model", "scale", "weights") else pl.Float64) for c in columns})
    )  # fmt: skip
    run_id = str(uuid.uuid4())
    for cx in crossovers:
        cx["run_id"] = run_id
    if store:
        repo.save_forecast_run(
            run={
                "id": run_id, "created_at": datetime.now(timezone.utc), "as_of": as_of, "horizon": horizon,
                "n_paths": n_paths, "seed": seed, "code_version": _code_version(),
                "data_fingerprint": data_fingerprint(observations),
                "configuration": {"models": list(config.models), "min_points_full": config.min_points_full,
                                  "backtest_origins": config.backtest_origins, "selection": config.selection,
                                  "report_years": list(config.report_years), "history_kinds": list(HISTORY_KINDS),
                                  "indicators": wanted_ind, "dimensions": wanted_dim,
                                  "horizon_year": config.horizon_year, "current_year": config.current_year,
                                  # per series: chosen scale, model weights, widening, backtest scores
                                  "fits": {i: results[i].fits for i in wanted_ind}},
                "duration_s": time.perf_counter() - t0,
            },
            forecasts=table,
            crossovers=crossovers,
        )  # fmt: skip
    return ForecastOutcome(run_id=run_id, as_of=as_of, forecasts=table, crossovers=crossovers, warnings=warnings,
                           seconds=time.perf_counter() - t0)  # fmt: skip


def backtest_subjects(
    repo: Repository,
    catalog: Catalog,
    *,
    indicators: Sequence[str] | None,
    from_year: int,
    horizon: int = 10,
    n_paths: int = 1000,
    seed: int = 0,
) -> list[dict]:
    """Per pair indicator: as-of forecasts from `from_year`, scored on what followed (summary rows)."""
    from aitrack.errors import UsageError
    from forecasts import ForecastConfig, backtest_pair

    ids = list(indicators) if indicators else [e.id for e in catalog if e.comparison == "pair"]
    unknown = [i for i in ids if i not in catalog]
    if unknown:
        raise UsageError(f"unknown indicator {', '.join(unknown)}")
    observations = repo.latest_observations(kinds=HISTORY_KINDS, indicators=ids)
    config = ForecastConfig(horizon=horizon, n_paths=n_paths, seed=seed, workers=1)
    rows = []
    for indicator in ids:
        entry = catalog.get(indicator)
        history = observations.filter(pl.col("indicator") == indicator).select("country", "year", "value")
        if history.height == 0:
            rows.append({"subject": indicator, "n_as_of": 0, "note": "insufficient_data"})
            continue
        result = backtest_pair(history, series_spec(entry), config, from_year=from_year)
        rows.append({"subject": indicator, **result.summary, "note": "; ".join(result.warnings[:2])})
    return rows
