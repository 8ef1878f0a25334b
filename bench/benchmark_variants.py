"""Design choices on the public benchmark: M1 and Tourism yearly through `forecast_many` (in process, not the CLI)
under configuration variants, scored as in docs/benchmark.md; writes docs/benchmark_variants.md.

Run:  .venv/bin/python bench/benchmark_variants.py [--out docs/benchmark_variants.md] [--paths 1000]

The variants are the alternatives weighed when the defaults were chosen (docs/benchmark.md, "Choices"). The
same held-out years score every variant, so this page is where the defaults were *tuned*: read its figures
as in-sample for the design, and the snapshot's as-of backtest (docs/backtest.md) as the independent check.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(ROOT / "bench")):
    if entry not in sys.path:
        sys.path.insert(0, entry)

import benchmark_public as bp  # noqa: E402
from forecasts import ForecastConfig, ForecastJob, SeriesSpec, forecast_many  # noqa: E402
from forecasts.tables import render  # noqa: E402

VARIANTS: dict[str, dict] = {
    "default": {},
    "selection: always comb": {"selection": "comb"},
    "selection: best single": {"selection": "best"},
    "weights ∝ 1/score (power 1)": {"weight_power": 1.0},
    "weights ∝ 1/score² (power 2)": {"weight_power": 2.0},
    "weights ∝ 1/score⁵ (power 5)": {"weight_power": 5.0},
    "candidates + ses, ets, arima alone": {"models": ("naive", "rw_drift", "ses", "ets", "theta", "arima", "comb")},
    "scale: level only": {"spec": {"scale": "level"}},
    "scale: log only": {"spec": {"scale": "log"}},
    "scale by point error only": {"scale_by": "point"},
    "3 backtest origins": {"backtest_origins": 3},
    "no cross-fitting": {"cross_fit": False},
    "series factor may narrow": {"only_widen": False},
    "no growth guard": {"growth_guard": False},
    "every spread the random walk's": {"spread": "rw"},
    "scale chosen on the common pool; pools by chosen scale": {"calibration_pool": "chosen_scale"},
    "calibrate on windows of 6+ points only": {"min_calibration_train": 6},
    "every origin refitted": {"refit_origins": True},
    "parameters carried across origins": {"refit_origins": False},
    "chosen scale's median alone (no blend)": {"scale_blend": "none"},
    "scales' medians weighted ∝ 1/score³": {"scale_blend": "weighted", "scale_power": 3.0},
    "scales' medians weighted ∝ 1/score": {"scale_blend": "weighted", "scale_power": 1.0},
}


def jobs_for(series: list[bp.Series], spec: dict | None = None) -> tuple[list[ForecastJob], dict[int, tuple[int, int]]]:
    jobs, owner = [], {}
    for k in range(0, len(series), 2):
        members = (k, k + 1 if k + 1 < len(series) else k)
        rows = []
        for country, index in zip(bp.PAIR, members):
            s = series[index]
            first = bp.AS_OF - s.train.size + 1
            rows += [(country, first + j, float(v)) for j, v in enumerate(s.train)]
        history = pl.DataFrame(rows, schema=["country", "year", "value"], orient="row")
        owner[len(jobs)] = members
        jobs.append(ForecastJob(history, SeriesSpec(f"series_{k}", **(spec or {}))))
    return jobs, owner


def forecasts_of(results, owner, series, horizon) -> dict[int, dict]:
    out = {}
    for j, result in enumerate(results):
        for country, index in zip(bp.PAIR, owner[j]):
            f = result.forecasts.filter((pl.col("country") == country) & (pl.col("year") <= bp.AS_OF + horizon))
            out[index] = {q: f.sort("year")[q].to_numpy()[:horizon] for q in ("mean", "lo_80", "hi_80", "lo_95", "hi_95")}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--variants", help="variant labels separated by '|' to run (default: all); with a subset "
                        "the page is not written unless --out is given")
    args = parser.parse_args(argv)
    rows = []
    for name in ("m1", "tourism"):
        series = bp.load_set(name, None)
        horizon = series[0].test.size
        chosen = args.variants.split("|") if args.variants else list(VARIANTS)
        for label in chosen:
            change = VARIANTS[label]
            change = dict(change)
            jobs, owner = jobs_for(series, change.pop("spec", None))
            config = replace(ForecastConfig(horizon=horizon, n_paths=args.paths), **change)
            started = time.perf_counter()
            results = forecast_many(jobs, config)
            seconds = time.perf_counter() - started
            scores = bp.score(series, forecasts_of(results, owner, series, horizon))
            rows.append({"set": name, "variant": label, **{k: round(v, 3) for k, v in scores.items()},
                         "seconds": round(seconds, 1)})
            print(rows[-1], flush=True)
    if args.out is None and args.variants:
        return
    out = args.out or ROOT / "docs" / "benchmark_variants.md"
    lines = ["# Benchmark variants (design choices)", "",
             f"Generated by `bench/benchmark_variants.py` on {date.today().isoformat()}: M1 and Tourism yearly "
             f"through `forecast_many` in process ({args.paths} paths), one row per configuration variant.", "",
             "These figures chose the defaults, on the same held-out years they report: they are in-sample for the "
             "design. The snapshot's as-of backtest (`docs/backtest.md`) is the independent check.", "",
             render(rows, "md")]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
