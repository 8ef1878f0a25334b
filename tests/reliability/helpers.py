"""Helpers of the reliability tests: a World Bank API stub (the recorded fixtures, optionally slow or revised), the real
`aitrack` program in a subprocess, and database queries the tests assert on.

The revised population page is built from real values: the World Bank's SP.POP.TOTL for the USA 2018–2022 in a later
WDI vintage (the `population` column of ../shared/data/vdem_freedom/vdem3.csv, which that repository's codebook gives as
World Bank SP.POP.TOTL) served under the fixture's own `lastupdated` (2024-05-30): the World Bank revising values
without changing the release date, as the probe saw it do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from db.session import make_engine

WB_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "live" / "worldbank"
AITRACK = str(Path(sys.executable).with_name("aitrack"))
# USA SP.POP.TOTL 2018–2022, later WDI vintage (vdem3.csv `population`), replacing the 2024-05-30 file's values.
REVISED_USA_POPULATION = {"2018": 328529577, "2019": 330226227, "2020": 331577720, "2021": 332099760, "2022": 334017321}


def population_page(revised: bool) -> bytes:
    meta, rows = json.loads((WB_FIXTURES / "population.json").read_text())
    if revised:
        for row in rows:
            if row["countryiso3code"] == "USA":
                row["value"] = float(REVISED_USA_POPULATION[row["date"]])
    return json.dumps([meta, rows]).encode()


EMPTY_PAGE = json.dumps([{"page": 1, "pages": 0, "per_page": 1000, "total": 0, "sourceid": "2",
                          "lastupdated": "2026-07-13"}, None]).encode()  # fmt: skip


class WorldBankStub(BaseHTTPRequestHandler):
    """World Bank API v2: GERD and population from the fixtures, the empty page for other codes."""

    revised = False
    delay_first_s = 0.0  # the first request of a refresh waits this long (so that a second process can try meanwhile)
    hold_first: threading.Event | None = None  # or until this is set
    requests: list[str] = []
    _delayed = False

    def log_message(self, *args):
        return

    def do_GET(self):  # noqa: N802
        cls = type(self)
        cls.requests.append(self.path)
        if (cls.delay_first_s or cls.hold_first is not None) and not cls._delayed:
            cls._delayed = True
            if cls.hold_first is not None:
                cls.hold_first.wait(timeout=120)
            else:
                time.sleep(cls.delay_first_s)
        parts = urlsplit(self.path)
        code = parts.path.rsplit("/", 1)[-1]
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        if code == "GB.XPD.RSDV.GD.ZS":
            body = (WB_FIXTURES / f"gerd_page{page}.json").read_bytes()
        elif code == "SP.POP.TOTL":
            body = population_page(cls.revised)
        else:
            body = EMPTY_PAGE
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @classmethod
    def reset(cls, *, revised: bool = False, delay_first_s: float = 0.0, hold: bool = False) -> None:
        cls.revised, cls.delay_first_s, cls._delayed, cls.requests = revised, delay_first_s, False, []
        cls.hold_first = threading.Event() if hold else None


@contextmanager
def serve(handler, host: str = "127.0.0.1"):
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def aitrack_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AITRACK_")}
    env.update({"AITRACK_DATABASE_URL": database_url, "AITRACK_DATA_DIR": str(data_dir),
                "AITRACK_HTTP_BACKOFF_BASE_S": "0.01", "AITRACK_HTTP_MAX_RETRIES": "1", "COLUMNS": "200"})  # fmt: skip
    env.update(extra)
    return env


def run_aitrack(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([AITRACK, *args], env=env, capture_output=True, text=True, timeout=timeout)


def start_aitrack(args: list[str], env: dict[str, str], **kwargs) -> subprocess.Popen:
    return subprocess.Popen([AITRACK, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # fmt: skip


def wait_for(condition, timeout: float = 30.0, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def scalar(database_url: str, sql: str, **params):
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def rows(database_url: str, sql: str, **params) -> list[tuple]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params).all()]
    finally:
        engine.dispose()


DUPLICATE_VALUES = (
    "SELECT indicator_id, country, year, source_id, value, count(*) FROM observation "
    "GROUP BY indicator_id, country, year, source_id, value HAVING count(*) > 1"
)


# -- large import files ------------------------------------------------------------------------------------------

USER_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "user" / "top500_june_systems.csv"


def _generated_countries() -> list[str]:
    import pycountry

    return sorted(c.alpha_3 for c in pycountry.countries)


def write_large_import(path: Path, *, rows: int, bad_row: int | None = None, bad_line: str | None = None) -> int:
    """A generated import file of about `rows` data rows (tests/fixtures/README.md, "generated import files"): the
    real US counts of top500_june_systems.csv (2005–2026), cycled over the years 1800–2026 of each series, for ISO3
    codes in turn, under generated indicator ids. The values stand for nothing; the tests measure memory, time and
    atomicity, never the values. `bad_row` (1-based data row) is replaced by `bad_line`. Returns the row count."""
    lines = USER_FIXTURE.read_text(encoding="utf-8").splitlines()
    header = lines[0]
    real = [line.split(",") for line in lines[1:] if line.split(",")[1] == "USA"]
    codes = _generated_countries()
    years = range(1800, 2027)
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(header + "\n")
        series = 0
        while n < rows:
            indicator, code = f"generated_load_{series // len(codes):04d}", codes[series % len(codes)]
            series += 1
            for year in years:
                n += 1
                cells = real[year % len(real)]
                row = ",".join([indicator, code, str(year), *cells[3:]])
                fh.write((bad_line if n == bad_row else row) + "\n")
                if n >= rows:
                    break
    return n
