"""The forecast batch on a Dask cluster, and on the local pool of forked workers, gives the bytes of the in-process
run (issue 16, part 3; issue 12).

Real series: the World Bank files of the embedded snapshot (data/snapshot/worldbank; ../shared/data/worldbank/
SOURCES.md), loaded by the same loader `aitrack run` uses into a scratch SQLite database; every country with at
least 8 points of three of its indicators as single-country jobs (countries only), and China–US pair jobs of three for crossover rows.
The cluster is `distributed.LocalCluster` on localhost: 2 worker processes, 1 thread each.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import polars as pl
import pytest
from distributed import Client, LocalCluster
from scipy.stats import spearmanr

from aitrack.errors import SettingsError
from aitrack.executors import RAY_UNSUPPORTED, forecast_executor
from aitrack.jobs import ingest
from aitrack.jobs.catalog import current_catalog, sync_catalog
from aitrack.jobs.forecast import history_observations, series_spec
from aitrack.jobs.panel import world_panel_jobs
from aitrack.settings import load_settings
from contracts.pair import DEFAULT_PAIR
from db.migrate import upgrade
from db.read import Reader
from db.session import make_engine
from db.write import Writer
from forecasts import ForecastConfig, ForecastJob, forecast_many
from forecasts.executors import Dask, InProcess, LocalPool

PANEL_INDICATORS = ("gerd_pct_gdp", "researchers_per_million", "hightech_exports")
PAIR_INDICATORS = ("gerd_pct_gdp", "researchers_per_million", "hightech_exports")
CONFIG = ForecastConfig(n_paths=500, seed=20260720, current_year=2026, workers=2)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> list[ForecastJob]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('executors') / 'wb.db'}")
    upgrade(engine)
    reader, writer = Reader(engine), Writer(engine)
    catalog = current_catalog(reader)
    sync_catalog(writer, catalog)
    ingest.load_snapshot(writer, catalog, sources=("worldbank",))
    observations = history_observations(reader)
    panel = [j for j in world_panel_jobs(observations, catalog) if j.spec.subject in PANEL_INDICATORS]
    pairs = [ForecastJob(observations.filter((pl.col("indicator") == i) & pl.col("country").is_in(DEFAULT_PAIR))
                         .select("country", "year", "value"), series_spec(catalog.get(i))) for i in PAIR_INDICATORS]
    engine.dispose()
    return panel + pairs


class Counting:
    """An executor that records how many partitions each batch (every fit at once, one `imap`) was given."""

    def __init__(self, *args):
        super().__init__(*args)
        self.calls: list[int] = []

    def imap(self, fn, partitions):
        self.calls.append(len(partitions))
        return super().imap(fn, partitions)


class CountingDask(Counting, Dask):
    pass


class CountingPool(Counting, LocalPool):
    pass


@pytest.fixture(scope="module")
def cluster_client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        yield client


def _bytes(results) -> tuple[bytes, list[bytes], list[dict]]:
    tables = pl.concat([r.forecasts.with_columns(pl.lit(r.subject).alias("subject")) for r in results])
    paths = [np.ascontiguousarray(r.paths[c]).tobytes() for r in results for c in sorted(r.paths)]
    crossovers = [dataclasses.asdict(r.crossover()) for r in results if len(r.pair) == 2]
    return tables.write_csv().encode(), paths, crossovers


def test_dask_batch_is_byte_identical_to_in_process(jobs, cluster_client):
    assert len(jobs) > 200  # enough series that every fit is split across both workers
    local = forecast_many(jobs, CONFIG, InProcess())
    executor = CountingDask(cluster_client)
    remote = forecast_many(jobs, CONFIG, executor)
    assert executor.calls and max(executor.calls) >= 2 * 2  # two partitions per worker thread
    assert [r.status for r in remote] == [r.status for r in local]
    assert sum(r.status == "ok" for r in local) > 200
    table_l, paths_l, cross_l = _bytes(local)
    table_r, paths_r, cross_r = _bytes(remote)
    assert table_r == table_l
    assert paths_r == paths_l
    assert len(cross_l) == len(PAIR_INDICATORS) and cross_r == cross_l


def test_local_pool_batch_is_byte_identical_to_in_process(jobs):
    local = forecast_many(jobs, CONFIG, InProcess())
    with CountingPool(2) as pool:
        pooled = forecast_many(jobs, CONFIG, pool)
        worker_pids = {p.pid for p in pool._pool._pool}
    # One imap per batch: the backtest's and the final fit's partitions together, several per model group.
    assert len(pool.calls) == 1 and pool.calls[0] >= 8
    assert pool._pool is None and len(worker_pids) == 2  # the pool ended with the block
    assert [r.status for r in pooled] == [r.status for r in local]
    table_l, paths_l, cross_l = _bytes(local)
    table_p, paths_p, cross_p = _bytes(pooled)
    assert table_p == table_l and paths_p == paths_l and cross_p == cross_l


def test_single_country_jobs_have_their_own_streams(jobs):
    """Two countries of one indicator never share shocks (a panel of single-country jobs is independent)."""
    singles = [j for j in jobs if len(j.pair) == 1 and j.spec.subject == PANEL_INDICATORS[0]][:2]
    a, b = forecast_many(singles, dataclasses.replace(CONFIG, n_paths=200))
    assert a.pair != b.pair and a.status == b.status == "ok"
    last_a, last_b = a.paths[a.pair[0]][:, -1], b.paths[b.pair[0]][:, -1]
    # Shared shocks would rank the two countries' paths alike (rank correlation near 1).
    assert abs(spearmanr(last_a, last_b).statistic) < 0.3
    with pytest.raises(ValueError, match="no crossover"):
        a.crossover()


def test_executor_setting(monkeypatch, cluster_client):
    monkeypatch.setenv("AITRACK_EXECUTOR", "ray://head:10001")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert RAY_UNSUPPORTED in str(caught.value) and "\n" not in str(caught.value)
    monkeypatch.setenv("AITRACK_EXECUTOR", "dask://nohost")
    with pytest.raises(SettingsError, match="dask://host:port"):
        load_settings()
    monkeypatch.setenv("AITRACK_EXECUTOR", "local")
    with forecast_executor(load_settings().executor) as executor:
        # One worker: no pool, this process fits (statsforecast's n_jobs is the job's one worker).
        assert isinstance(executor, LocalPool) and executor.partitions_for(10_000) == 1
        assert executor.jobs_per_partition(1) == 1
    with forecast_executor(load_settings().executor, 2) as executor:
        assert executor.partitions_for(10_000) == 4 and executor.jobs_per_partition(2) == 1
    address = cluster_client.scheduler.address.replace("tcp://", "dask://")
    with forecast_executor(address) as executor:
        assert isinstance(executor, Dask) and executor.partitions_for(10_000) == 4
