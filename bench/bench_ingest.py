"""1 million observations into PostgreSQL through the writer's COPY path (db/copy.py), then the same again (adds 0).

The rows are real: every stored observation of the embedded snapshot (all vintages, ~100k rows of World Bank, OWID,
OECD, OpenAlex, Epoch and the curated files), loaded by the loader `aitrack run` uses, then replicated under
benchmark-only indicator ids (`<indicator>__bench01`, `__bench02`, … registered with the original's unit) until
there are 1,000,000 rows. Values, countries, years, sources, vintages and payload citations are the snapshot's own;
only the indicator id differs between replicas. Everything lives in a scratch schema of the PostgreSQL database
(`bench_ingest_<random>`), dropped at the end.

Measured: the snapshot load (not the target), then one `Writer.ingest` of the 1M-row frame (validation, COPY,
classification, INSERT; the ≤ 30 s target), then the same frame again (everything unchanged). Then EXPLAIN ANALYZE
of the panel reads of `v_latest_observation` at that size (written to bench/bench_ingest_explain.txt).

Run: `.venv/bin/python bench/bench_ingest.py` (PostgreSQL from AITRACK_BENCH_POSTGRES_URL, else
AITRACK_TEST_POSTGRES_URL, else postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import json
from dataclasses import replace
import math
import os
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aitrack.jobs import ingest  # noqa: E402
from aitrack.jobs.catalog import current_catalog, indicator_records, sync_catalog  # noqa: E402
from contracts.kinds import HISTORY_KINDS, sql_list  # noqa: E402
from contracts.observations import OBSERVATION_COLUMNS  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.read import Reader  # noqa: E402
from db.session import make_engine  # noqa: E402
from db.write import PayloadRecord, Writer  # noqa: E402

N_ROWS = 1_000_000
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
APPLICATION = "aitrack-bench-ingest"  # names this benchmark's server backends, whose CPU time is read from /proc
EXPLAINED = {
    "whole panel, history kinds (the forecast job's read)":
        f"SELECT * FROM v_latest_observation WHERE value_kind IN {sql_list(HISTORY_KINDS)}",
    "one indicator, every country (a panel route)": "SELECT * FROM v_latest_observation WHERE indicator = 'ai_papers'",
    "one indicator, one country": "SELECT * FROM v_latest_observation WHERE indicator = 'ai_papers' AND country = 'IND'",
}


def _replicas(base: pl.DataFrame, n_rows: int) -> tuple[pl.DataFrame, list[str]]:
    copies = math.ceil(n_rows / base.height)
    suffixes = [f"__bench{k:02d}" for k in range(1, copies + 1)]
    frame = pl.concat([base.with_columns(pl.col("indicator") + s) for s in suffixes]).head(n_rows)
    return frame, suffixes


def _payloads(shas) -> list[PayloadRecord]:
    """The cited payloads as records: already stored (content-addressed), so the writer only checks them."""
    now = datetime.now(timezone.utc)
    return [PayloadRecord(sha256=sha, source_id="snapshot", url="", request_params={}, status=200, media_type="",
                          retrieved_at=now, published=None, licence="", citation="", redistributable=True,
                          content=b"") for sha in shas]  # fmt: skip


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (the PostgreSQL backends; the server runs on this host)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / os.sysconf("SC_CLK_TCK")


def _backends(engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                                 {"name": APPLICATION}).scalars())


def main() -> None:
    base_url = os.environ.get("AITRACK_BENCH_POSTGRES_URL") or os.environ.get("AITRACK_TEST_POSTGRES_URL") or DEFAULT_URL
    schema = f"bench_ingest_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    engine = make_engine(f"{base_url}{sep}options=-csearch_path%3D{schema}&application_name={APPLICATION}")
    report: dict = {"measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": N_ROWS}
    try:
        upgrade(engine)
        reader, writer = Reader(engine), Writer(engine)
        catalog = current_catalog(reader)
        sync_catalog(writer, catalog)
        start = time.perf_counter()
        ingest.load_snapshot(writer, catalog)
        report["snapshot_load_s"] = round(time.perf_counter() - start, 2)
        base = reader.observations().select(OBSERVATION_COLUMNS)
        frame, suffixes = _replicas(base, N_ROWS)
        present = set(frame["indicator"])
        records = [replace(r, id=r.id + s) for s in suffixes for r in indicator_records(catalog) if r.id + s in present]
        writer.sync_indicators(records)
        payloads = _payloads(frame["snapshot_id"].unique().to_list())
        print(f"scratch schema {schema}: {base.height} real snapshot rows × {len(suffixes)} benchmark indicator ids "
              f"→ {frame.height} rows; load average {os.getloadavg()[0]:.2f}")

        for label in ("first", "again"):
            backends = _backends(engine)
            server_before, client_before = _cpu_s(backends), time.process_time()
            start = time.perf_counter()
            stats = writer.ingest(run_source="snapshot", trigger="benchmark", started_at=datetime.now(timezone.utc),
                                  sources=[], payloads=payloads, observations=frame)  # fmt: skip
            seconds = time.perf_counter() - start
            backends_after = _backends(engine)
            server = _cpu_s(backends_after) - server_before if backends_after == backends else None
            client = time.process_time() - client_before
            report[label] = {"seconds": round(seconds, 2), "added": stats.added, "unchanged": stats.unchanged,
                             "revised": stats.revised, "rows_per_s": round(frame.height / seconds),
                             "server_cpu_s": None if server is None else round(server, 2),
                             "client_cpu_s": round(client, 2), "load_1min": os.getloadavg()[0]}
            print(f"  ingest {label:<6} {seconds:6.2f} s wall (server CPU {report[label]['server_cpu_s']} s, client "
                  f"CPU {client:.2f} s)  added {stats.added:>8}  unchanged {stats.unchanged:>8}  revised {stats.revised}")
        with engine.connect() as conn:
            report["observation_rows"] = conn.execute(text("SELECT count(*) FROM observation")).scalar_one()
            conn.execute(text("ANALYZE observation"))
            plans = []
            for label, sql in EXPLAINED.items():
                plan = [r[0] for r in conn.execute(text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {sql}"))]
                plans.append(f"-- {label}\n-- {sql}\n" + "\n".join(plan))
                print(f"  EXPLAIN {label}: {plan[-1].strip()}")
        (ROOT / "bench" / "bench_ingest_explain.txt").write_text(
            f"-- v_latest_observation with {report['observation_rows']} observation rows (bench/bench_ingest.py)\n\n"
            + "\n\n".join(plans) + "\n")
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    out = ROOT / "bench" / "bench_ingest.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out} (scratch schema dropped)")


if __name__ == "__main__":
    main()
