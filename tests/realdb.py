"""A database produced by the real pipeline from a small slice of the embedded snapshot: what the API, dashboard,
report and browser tests read (they never see hand-made forecasts).

The slice: the snapshot files of OWID (CSET papers, patents, investment), the World Bank, OECD MSTI and the UN voting
agreement scores, loaded by `aitrack.jobs.ingest`; the seed evidence; one build; one as-of backtest run of
`ai_papers` (as of 2019) and one official run of a few indicators and the legitimacy dimension, both by
`aitrack.jobs.forecast` with few paths to stay fast. The official run's subjects cover every status but
`likely_crossed`: already crossed, projected (large-scale AI systems, with provisional 2026 values), not within the
horizon, insufficient data. Built once per test process and backend; tests only read it.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine

from aitrack.jobs import build, forecast, ingest
from aitrack.jobs.catalog import current_catalog, sync_catalog
from contracts.records import CrossoverRow
from db.migrate import upgrade
from db.read import Reader
from db.write import Writer

SLICE_SOURCES = ("owid", "worldbank", "oecd", "unga")
FORECAST_INDICATORS = ("ai_papers", "ai_patent_applications", "gerd_pct_gdp", "unga_states_closer", "unga_mean_agreement",
                       "large_scale_ai_systems", "ai_bills_passed")
FORECAST_DIMENSIONS = ("legitimacy",)
BACKTEST_INDICATOR, BACKTEST_AS_OF = "ai_papers", 2019
N_PATHS = 300
SEED = 20260720


@dataclass(frozen=True)
class RealDbSummary:
    observations: pl.DataFrame  # every current value, all kinds
    evidence_rows: int
    crossovers: list[CrossoverRow]  # of the official run
    current_run_id: str
    backtest_run_id: str


def load_slice(writer: Writer, catalog, sources: tuple[str, ...] = SLICE_SOURCES) -> list[ingest.SourceOutcome]:
    """The slice's snapshot files through the same loader `aitrack run` uses, restricted to `sources`."""
    return ingest.load_snapshot(writer, catalog, sources=sources)


def build_real_db(engine: Engine, sources: tuple[str, ...] = SLICE_SOURCES) -> RealDbSummary:
    upgrade(engine)
    reader, writer = Reader(engine), Writer(engine)
    catalog = current_catalog(reader)
    sync_catalog(writer, catalog)
    load_slice(writer, catalog, sources)
    evidence_rows = ingest.load_evidence(writer)
    build.build(reader, writer, catalog, n_draws=200, seed=SEED)
    backtest = forecast.forecast_subjects(
        reader, writer, catalog, indicators=[BACKTEST_INDICATOR], as_of=BACKTEST_AS_OF, horizon=10, n_paths=N_PATHS,
        seed=SEED, workers=1,
    )  # fmt: skip
    official = forecast.forecast_subjects(
        reader, writer, catalog, indicators=list(FORECAST_INDICATORS), dimensions=list(FORECAST_DIMENSIONS),
        n_paths=N_PATHS, seed=SEED, workers=1, official=True,
    )  # fmt: skip
    return RealDbSummary(
        observations=reader.latest_observations(kinds=None), evidence_rows=evidence_rows,
        crossovers=official.crossovers, current_run_id=official.run_id, backtest_run_id=backtest.run_id,
    )  # fmt: skip
