"""Speed of a ~700-series `aitrack forecast` batch through the CLI, against peers on the same series.

Run:
  .venv/bin/python bench/bench_batch.py prepare DIR      # a database with M1 + Tourism yearly imported (not timed)
  farm-bench -n 3 --timeout 900 --vs '.venv/bin/python bench/bench_batch.py peer-ets DIR' -- \\
      .venv/bin/python bench/bench_batch.py ours DIR     # ours vs statsforecast AutoETS alone, pair by pair
  farm-bench -n 1 --timeout 900 --vs '.venv/bin/python bench/bench_batch.py prophet DIR' -- \\
      .venv/bin/python bench/bench_batch.py ours DIR     # ours vs a plain per-series Prophet loop

`ours` is exactly what a user runs: `aitrack forecast --as-of 2020 --horizon 6 -i …` over every imported
indicator (699 series as 350 pairs), default configuration, 2,000 paths, parquet out. `peer-ets` fits
statsforecast's AutoETS on the same 699 training series in one batch (n_jobs=2) with 80/95 % intervals — the
figure the issue quotes (about 2 s for 645 series); `prophet` fits a default Prophet per series and predicts
6 years with its default 1,000 samples. Each is a whole process, start-up included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import benchmark_public as bp  # noqa: E402

AITRACK = str(Path(sys.executable).with_name("aitrack"))


def _env(directory: Path) -> dict:
    return dict(os.environ, AITRACK_DATA_DIR=str(directory), AITRACK_DATABASE_URL=f"sqlite:///{directory / 'bench.db'}")


def _series() -> list[bp.Series]:
    return bp.load_set("m1", None) + bp.load_set("tourism", None)


def prepare(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    text, owner = bp.import_csv(_series(), "bm")
    (directory / "series.csv").write_text(text)
    env = _env(directory)
    subprocess.run([AITRACK, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([AITRACK, "import", str(directory / "series.csv")], env=env, check=True, capture_output=True)
    (directory / "indicators.json").write_text(json.dumps(sorted({i for i, _ in owner})))
    print(f"prepared {directory}: {len(owner)} series")


def ours(directory: Path) -> None:
    indicators = json.loads((directory / "indicators.json").read_text())
    selection = [a for i in indicators for a in ("-i", i)]
    os.execve(AITRACK, [AITRACK, "forecast", *selection, "--as-of", str(bp.AS_OF), "--horizon", "6",
                        "--format", "parquet", "--out", str(directory / "ours.parquet")], _env(directory))


def _frame():
    import numpy as np
    import pandas as pd

    series = _series()
    return pd.DataFrame({
        "unique_id": np.repeat(np.arange(len(series)), [s.train.size for s in series]),
        "ds": np.concatenate([np.arange(s.train.size) for s in series]),
        "y": np.concatenate([s.train for s in series]),
    })


def peer_ets() -> None:
    import warnings

    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        StatsForecast(models=[AutoETS()], freq=1, n_jobs=2).forecast(df=_frame(), h=6, level=[80, 95])


def prophet_loop() -> None:
    import logging
    import warnings

    import pandas as pd
    from cmdstanpy.utils import get_logger
    from prophet import Prophet

    for noisy in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    get_logger().setLevel(logging.CRITICAL)
    start = time.perf_counter()
    for s in _series():
        frame = pd.DataFrame({"ds": pd.to_datetime([f"{2000 + i}-12-31" for i in range(s.train.size)]), "y": s.train})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = Prophet().fit(frame)
            model.predict(model.make_future_dataframe(periods=6, freq="YE", include_history=False))
    print(f"prophet loop {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2]) if len(sys.argv) > 2 else Path("/tmp/aitrack-bench")
    {"prepare": lambda: prepare(directory), "ours": lambda: ours(directory), "peer-ets": peer_ets,
     "prophet": prophet_loop}[command]()
