"""The world panel of the snapshot forecast in one batch: in-process, and on a 2-worker local Dask cluster.

The panel: every country (aggregates left out) × every catalog indicator with at least 8 annual history values in
the database `make run` builds (data/aitrack.db), one single-country job each (`aitrack.jobs.panel.world_panel_jobs`),
forecast with the default configuration (backtest selection over naive, rw_drift, theta and comb on the candidate
scales, pooled calibration) and 2,000 paths per series. Measured:

1. the whole panel in-process (statsforecast with n_jobs=2), and 100 and 1,000 series drawn evenly from it (every
   k-th job), so that the time per series shows how the cost grows (after an unmeasured 20-series warm-up: imports
   and numba's compilation); wall and CPU seconds (this process and statsforecast's worker processes);
2. the whole panel on the CLI's `local` executor (`forecasts.executors.LocalPool`, 2 forked workers, their start
   included), checked byte for byte against the in-process forecast rows;
3. the whole panel on `distributed.LocalCluster(n_workers=2, threads_per_worker=1)`: the cluster's start-up, and the
   batch itself, checked byte for byte against the in-process forecast rows.

Run: `make run` once (the database), then `.venv/bin/python bench/bench_panel.py [--out bench/bench_panel.json]`.
The machine's load average is recorded with the figures (the benchmark machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aitrack.jobs.catalog import current_catalog  # noqa: E402
from aitrack.jobs.forecast import history_observations  # noqa: E402
from aitrack.jobs.panel import world_panel_jobs  # noqa: E402
from db.read import Reader  # noqa: E402
from db.session import make_engine  # noqa: E402
from forecasts import ForecastConfig, forecast_many  # noqa: E402
from forecasts.engine import warm_up  # noqa: E402
from forecasts.executors import Dask, InProcess, LocalPool  # noqa: E402

N_PATHS = 2000
SIZES = (100, 1000)
WARMUP = 20


def _table(results) -> bytes:
    return pl.concat([r.forecasts.with_columns(pl.lit(r.subject).alias("subject")) for r in results]).write_csv().encode()


def _sample(jobs: list, n: int) -> list:
    step = max(1, len(jobs) // n)
    return jobs[::step][:n]


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (statsforecast's worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(jobs, config, executor) -> tuple[float, float, list]:
    start, cpu = time.perf_counter(), _cpu_s()
    results = forecast_many(jobs, config, executor)
    return time.perf_counter() - start, _cpu_s() - cpu, results


def _row(run: str, n: int, seconds: float, cpu: float | None) -> dict:
    return {"run": run, "series": n, "seconds": round(seconds, 2), "ms_per_series": round(1000 * seconds / n, 2),
            "cpu_s": None if cpu is None else round(cpu, 2),
            "cpu_ms_per_series": None if cpu is None else round(1000 * cpu / n, 2),
            "load_1min": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=f"sqlite:///{ROOT / 'data' / 'aitrack.db'}")
    parser.add_argument("--out", default=str(ROOT / "bench" / "bench_panel.json"))
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args()

    engine = make_engine(args.database)
    reader = Reader(engine)
    jobs = world_panel_jobs(history_observations(reader), current_catalog(reader))
    countries = len({j.pair[0] for j in jobs})
    indicators = len({j.spec.subject for j in jobs})
    config = ForecastConfig(n_paths=N_PATHS, workers=2)
    print(f"world panel: {len(jobs)} series ({indicators} indicators × {countries} countries), "
          f"{N_PATHS} paths each; load average before: {os.getloadavg()[0]:.2f}")

    # Not measured: one small batch first, so that imports and numba's compilation are not charged to the first size.
    forecast_many(_sample(jobs, WARMUP), config, InProcess())
    rows = []
    for subset in [_sample(jobs, n) for n in SIZES] + [jobs]:
        seconds, cpu, local = _timed(subset, config, InProcess())
        rows.append(_row("in-process", len(subset), seconds, cpu))
        print(f"  in-process {len(subset):>5} series: {seconds:7.2f} s ({cpu:.1f} CPU s)")
    # The CLI's `local` executor: a pool of 2 workers forked for the batch (its workers' CPU counts once joined).
    start, cpu = time.perf_counter(), _cpu_s()
    with LocalPool(2, initializer=warm_up) as pool:
        _, _, pooled = _timed(jobs, config, pool)
    seconds, cpu = time.perf_counter() - start, _cpu_s() - cpu
    pool_identical = _table(pooled) == _table(local)
    rows.append(_row("local pool 2", len(jobs), seconds, cpu))
    print(f"  local pool {len(jobs):>5} series: {seconds:7.2f} s ({cpu:.1f} CPU s; pool start included; rows identical "
          f"to in-process: {pool_identical})")
    dask = None
    if not args.skip_dask:
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            startup = time.perf_counter() - start
            seconds, _, remote = _timed(jobs, config, Dask(client))
        identical = _table(remote) == _table(local)
        dask = {"cluster_start_s": round(startup, 2), "batch_s": round(seconds, 2),
                "overhead_vs_in_process_s": round(seconds - rows[-1]["seconds"], 2), "identical_rows": identical,
                "load_1min": round(os.getloadavg()[0], 2)}
        rows.append(_row("dask 2 workers", len(jobs), seconds, None))
        print(f"  dask       {len(jobs):>5} series: {seconds:7.2f} s (+ {startup:.1f} s cluster start; "
              f"rows identical to in-process: {identical})")

    print()
    print(f"{'run':<16}{'series':>8}{'seconds':>10}{'ms/series':>11}{'CPU s':>9}{'CPU ms/series':>15}{'load':>7}")
    for row in rows:
        cpu = "—" if row["cpu_s"] is None else f"{row['cpu_s']:.1f}"
        per = "—" if row["cpu_ms_per_series"] is None else f"{row['cpu_ms_per_series']:.1f}"
        print(f"{row['run']:<16}{row['series']:>8}{row['seconds']:>10.2f}{row['ms_per_series']:>11.2f}{cpu:>9}"
              f"{per:>15}{row['load_1min']:>7.2f}")
    report = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "panel": {"series": len(jobs), "indicators": indicators, "countries": countries,
                  "n_paths": N_PATHS, "min_points": config.min_points_full},
        "runs": rows,
        "local_pool_identical_rows": pool_identical,
        "dask": dask,
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
