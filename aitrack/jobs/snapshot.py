"""The embedded snapshot as a ready database: schema, catalog, every snapshot file, the seed evidence and one build.

What `aitrack run` does before it forecasts; benchmarks and the golden tests start from the same state.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from aitrack.jobs import build, ingest
from aitrack.jobs.catalog import current_catalog, sync_catalog
from db import migrate
from db.read import Reader
from db.write import Writer
from indicators.catalog import Catalog


@dataclass
class SnapshotDatabase:
    reader: Reader
    writer: Writer
    catalog: Catalog
    outcomes: list[ingest.SourceOutcome]
    n_evidence: int
    build: build.BuildResult


def prepare_snapshot_database(engine: Engine, *, progress: ingest.ProgressCallback | None = None,
                              n_draws: int = 2000, seed: int = 0) -> SnapshotDatabase:  # fmt: skip
    migrate.upgrade(engine)
    reader, writer = Reader(engine), Writer(engine)
    catalog = current_catalog(reader)
    sync_catalog(writer, catalog)
    outcomes = ingest.load_snapshot(writer, catalog, **({"progress": progress} if progress else {}))
    n_evidence = ingest.load_evidence(writer)
    result = build.build(reader, writer, catalog, n_draws=n_draws, seed=seed)
    return SnapshotDatabase(reader, writer, catalog, outcomes, n_evidence, result)
