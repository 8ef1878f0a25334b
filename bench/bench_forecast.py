"""Benchmark: the embedded snapshot in, wall times of the full forecast (pairs + dimensions) and of a plain Prophet loop out.

Run:  .venv/bin/python bench/bench_forecast.py [--workers 2] [--n-paths 2000] [--no-prophet-loop] [--json OUT]

It builds every CHN–USA pair series of the catalog from `data/snapshot/` exactly as the pipeline
would (history kinds only, one source per indicator by catalog priority, derived indicators
added), then times (1) `forecast_many` — backtest-based selection over all default models and
2,000 joint paths per pair — plus `forecast_dimension` for the four dimensions, and (2) on the
same series, a plain loop that fits a default Prophet per country series and draws its default
1,000 predictive samples over the same horizon. Loading the snapshot is timed separately.
"""

from __future__ import annotations

import os

# Before numpy loads: one BLAS thread per process (the forecast's worker processes already use
# every core; see forecasts.pair._one_blas_thread_per_worker).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import polars as pl  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from contracts.kinds import HISTORY_KINDS  # noqa: E402
from aitrack.jobs.forecast import series_spec  # noqa: E402
from forecasts import ForecastConfig, ForecastJob, forecast_dimension, forecast_many  # noqa: E402
from indicators.catalog import load_catalog  # noqa: E402
from indicators.composites import pair_shares  # noqa: E402
from aitrack.jobs.forecast import history_observations  # noqa: E402
from aitrack.jobs.snapshot import prepare_snapshot_database  # noqa: E402
from db.session import make_engine  # noqa: E402

PAIR = ("CHN", "USA")


def cpu_seconds() -> float:
    """CPU time of this process and every finished child (workers, cmdstan runs) so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_snapshot() -> pl.DataFrame:
    """The snapshot's current annual history, as `aitrack run` selects it (a temporary SQLite database)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            return history_observations(prepare_snapshot_database(engine, n_draws=200).reader)
        finally:
            engine.dispose()


def pair_jobs(observations: pl.DataFrame, catalog) -> tuple[list[ForecastJob], pl.DataFrame]:
    """One job per catalog pair indicator with at least 3 points for both countries."""
    selected = observations.filter(pl.col("value_kind").is_in(HISTORY_KINDS))
    jobs = []
    for entry in catalog:
        if entry.comparison != "pair" or entry.forecast_scale is None:
            continue
        rows = selected.filter((pl.col("indicator") == entry.id) & pl.col("country").is_in(PAIR))
        counts = rows.group_by("country").len()
        if counts.height < 2 or counts["len"].min() < 3:
            continue
        jobs.append(
            ForecastJob(
                rows.select("country", "year", "value").sort("country", "year"),
                series_spec(entry),
            )
        )
    return jobs, selected


def run_dimensions(results, selected, catalog, config) -> list:
    shares = pair_shares(selected, catalog, PAIR)
    by_subject = {r.subject: r for r in results}
    out = []
    for name, spec in catalog.dimensions.items():
        weights = catalog.dimension_weights(name)
        out.append(
            forecast_dimension(
                {m: by_subject[m] for m in weights if m in by_subject},
                shares,
                weights,
                spec.dirichlet_concentration,
                config,
                subject=name,
                directions={m: catalog.get(m).direction for m in weights},
                min_weight_present=spec.coverage_threshold,
                min_indicators=spec.min_indicators,
            )
        )
    return out


def prophet_loop(jobs: list[ForecastJob], horizon: int) -> float:
    """A plain loop: one default Prophet per country series, 1,000 predictive samples per year."""
    import logging
    import warnings

    for noisy in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

    import pandas as pd
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    get_logger().setLevel(logging.CRITICAL)  # cmdstanpy resets its level on first use
    start = time.perf_counter()
    for job in jobs:
        for country in PAIR:
            rows = job.history.filter(pl.col("country") == country).sort("year")
            frame = pd.DataFrame(
                {"ds": pd.to_datetime([f"{y}-12-31" for y in rows["year"]]), "y": rows["value"].to_numpy()}
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = Prophet().fit(frame)
                model.predict(model.make_future_dataframe(periods=horizon, freq="YE", include_history=False))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-paths", type=int, default=2000)
    parser.add_argument("--no-prophet-loop", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    observations = load_snapshot()
    catalog = load_catalog()
    jobs, selected = pair_jobs(observations, catalog)
    load_seconds = time.perf_counter() - start

    config = replace(ForecastConfig(), workers=args.workers, n_paths=args.n_paths)
    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), cpu_seconds()
    results = forecast_many(jobs, config)
    pair_seconds = time.perf_counter() - start
    dimensions = run_dimensions(results, selected, catalog, config)
    total_seconds = time.perf_counter() - start
    total_cpu = cpu_seconds() - cpu_start

    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "n_pair_series": len(jobs),
        "n_country_series": 2 * len(jobs),
        "n_points": int(sum(job.history.height for job in jobs)),
        "n_ok": sum(r.status == "ok" for r in results),
        "n_dimensions": len(dimensions),
        "n_paths": config.n_paths,
        "workers": config.workers,
        "models": list(config.models),
        "load_snapshot_seconds": round(load_seconds, 2),
        "pairs_seconds": round(pair_seconds, 2),
        "dimensions_seconds": round(total_seconds - pair_seconds, 2),
        "total_forecast_seconds": round(total_seconds, 2),
        "total_forecast_cpu_seconds": round(total_cpu, 2),
        "load_average_before": round(load_before, 2),
        "selected_models": {r.subject: r.model for r in results},
    }
    if not args.no_prophet_loop:
        cpu_start = cpu_seconds()
        loop = prophet_loop(jobs, config.horizon)
        figures["prophet_loop_seconds"] = round(loop, 2)
        figures["prophet_loop_cpu_seconds"] = round(cpu_seconds() - cpu_start, 2)
        figures["ratio_ours_to_prophet_loop"] = round(total_seconds / loop, 2)
    text = json.dumps(figures, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return figures


if __name__ == "__main__":
    main()
