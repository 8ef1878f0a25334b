#!/usr/bin/env bash
# The grid of docs/performance-api.md: every load shape on SQLite and PostgreSQL, one JSON file per run, then a table.
#   bench/api_grid.sh SQLITE_DB_FILE POSTGRES_URL OUT_DIR
# SQLITE_DB_FILE: a database `aitrack run` built (it is copied before each run; the refresh writes into the copy).
# POSTGRES_URL: a database the same job was run into (the refresh writes fetch runs into it).
set -euo pipefail
sqlite_db=$1 postgres_url=$2 out=$3
python=${PYTHON:-.venv/bin/python}
duration=${DURATION:-30}
mkdir -p "$out"
run() {  # name database-url extra-args...
  local name=$1 url=$2; shift 2
  echo "== $name (load: $(cut -d' ' -f1 /proc/loadavg))" >&2
  if [[ $url == sqlite* ]]; then cp "$sqlite_db" /tmp/aitrack-bench.db; url=sqlite:////tmp/aitrack-bench.db; fi
  "$python" bench/bench_api.py --database-url "$url" --clients 50 --requests 1000000 --duration "$duration" \
    --workers 2 --json "$out/$name.json" "$@" | tail -n 3 >&2
}
for db in sqlite postgresql; do
  url=$([[ $db == sqlite ]] && echo sqlite || echo "$postgres_url")
  run "$db-think100"                 "$url" --think-ms 100
  run "$db-think100-refresh"         "$url" --think-ms 100 --refresh
  run "$db-closed-refresh-httpx"     "$url" --think-ms 0 --refresh
  run "$db-closed-refresh-raw"       "$url" --think-ms 0 --refresh --client raw
  run "$db-uncached-think1000-refresh" "$url" --think-ms 1000 --refresh --uncached
  run "$db-uncached-think100-refresh"  "$url" --think-ms 100 --refresh --uncached
done
"$python" - "$out" <<'PY'
import json, sys
from pathlib import Path
print("| run | client | think ms | refresh | uncached | crossovers p50 / p95 / p99 | observations p50 / p95 / p99 | req/s | refreshes |")
print("|---|---|---:|---|---|---|---|---:|---:|")
for f in sorted(Path(sys.argv[1]).glob("*.json")):
    d = json.loads(f.read_text())
    e = d["endpoints"]; cx, ob = e["/api/crossovers"], e["/api/observations?indicator=ai_papers"]
    fmt = lambda s: f"{s['p50']:.1f} / **{s['p95']:.1f}** / {s['p99']:.1f}"
    rps = (cx["n"] + ob["n"]) / d["elapsed_s"]
    print(f"| {f.stem} | {d['client']} | {d['think_ms']:g} | {'yes' if d['refreshes'] is not None else 'no'} | "
          f"{'yes' if d['uncached'] else 'no'} | {fmt(cx)} | {fmt(ob)} | {rps:.0f} | {d['refreshes'] if d['refreshes'] is not None else '–'} |")
PY
