"""Load benchmark of the read-only API: a database URL in, per-endpoint latency percentiles (p50/p95/p99) out.

Starts `python -m aitrack.api` (uvicorn over `aitrack.api.server:app_from_environment`) on 127.0.0.1 (loopback only),
runs N concurrent asyncio clients (httpx, or a minimal raw HTTP/1.1 client) for a bounded number of requests and seconds, and optionally a background
refresh (the embedded snapshot re-loaded through the Writer in a loop, in its own process) so reads are measured
while writes land. `bench/api_grid.sh` runs the grid reported in docs/performance-api.md.

    .venv/bin/python bench/bench_api.py --database-url sqlite:////tmp/aitrack.db --clients 50 --requests 20000 \
        --duration 60 --workers 2 --think-ms 100 --refresh

Run it on a copy of a database: the refresh writes fetch runs (and any revised values) into it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ENDPOINTS = ("/api/crossovers", "/api/observations?indicator=ai_papers")
LOOPBACK = "127.0.0.1"


@dataclass
class EndpointStats:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def start_server(database_url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "AITRACK_DATABASE_URL": database_url}
    # aitrack.api.server's runner, not the uvicorn CLI: it switches Nagle off on the socket the workers share.
    command = [sys.executable, "-m", "aitrack.api", LOOPBACK, str(port), str(workers)]
    return subprocess.Popen(command, cwd=ROOT, env=env)


def wait_until_up(base_url: str, server: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            if httpx.get(base_url + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /api/health in time")


def refresh_loop(database_url: str, stop: multiprocessing.Event, counter: multiprocessing.Value) -> None:
    """A refresh in the background: reload the embedded snapshot (each source one write transaction), repeatedly."""
    from aitrack.jobs.catalog import current_catalog
    from aitrack.jobs.ingest import load_snapshot
    from db.session import make_engine
    from db.write import Writer

    writer, catalog = Writer(make_engine(database_url)), current_catalog()
    while not stop.is_set():
        load_snapshot(writer, catalog)
        with counter.get_lock():
            counter.value += 1


class RawConnection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams, for the `raw` load generator.

    It sends what httpx sends that matters to the server (Host, Accept-Encoding: gzip, deflate) and reads the status
    line, the headers and exactly Content-Length bytes of body; the body is not decompressed or parsed. It costs a
    fraction of httpx's CPU per request, so on a small machine more of the CPU is left to the server being measured.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> "RawConnection":
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.writer is not None
        self.writer.close()

    async def get(self, path: str) -> int:
        """The response's status code, after its whole body has been read; OSError on a broken response."""
        assert self.reader is not None and self.writer is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                          "Accept-Encoding: gzip, deflate\r\nAccept: */*\r\n\r\n".encode("ascii"))  # fmt: skip
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise OSError(f"incomplete response head: {exc}") from exc
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        if "content-length" not in headers:
            raise OSError(f"response without Content-Length (headers: {sorted(headers)})")
        try:
            await self.reader.readexactly(int(headers["content-length"]))
        except asyncio.IncompleteReadError as exc:
            raise OSError("response body shorter than its Content-Length") from exc
        return status


def _url_for(endpoint: str, turn: int, index: int, uncached: bool) -> str:
    if not uncached:
        return endpoint
    # A valid but never-repeated URL (limit 9000–9999 returns the same rows): no request can be replayed from the
    # response cache, each is validated, filtered, serialised and compressed.
    return endpoint + ("&" if "?" in endpoint else "?") + f"limit={9000 + (turn * 7919 + index) % 1000}"


async def _client_loop(base_url: str, endpoints: list[str], clients: int, requests: int, deadline_s: float,
                       think_s: float, uncached: bool, first_index: int, kind: str) -> dict[str, dict]:  # fmt: skip
    """`clients` independent HTTP clients (one keep-alive connection each, as 50 browsers would have), closed loop."""
    stats = {e: EndpointStats() for e in endpoints}
    budget = {"left": requests}
    deadline = time.monotonic() + deadline_s
    host, port = httpx.URL(base_url).host, httpx.URL(base_url).port

    def connect() -> Any:
        if kind == "raw":
            return RawConnection(host, port)
        # One pool shared by 50 connections is httpx's slow path (p95 in the hundreds of ms with an idle server);
        # one client per connection measures the server, not the pool.
        return httpx.AsyncClient(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=1))

    async def fetch(client: Any, url: str) -> int:
        if kind == "raw":
            return await client.get(url)
        return (await client.get(url)).status_code

    async def one_client(index: int) -> None:
        # Think times are exponential (Poisson arrivals per client) and the clients start spread over one think
        # time: 50 clients released at the same instant, every second, would measure a burst of 50, not the load.
        rng = random.Random(index)
        async with connect() as client:
            await fetch(client, endpoints[index % len(endpoints)])  # open the connection; not measured
            if think_s:
                await asyncio.sleep(rng.uniform(0, think_s))
            turn = index
            while budget["left"] > 0 and time.monotonic() < deadline:
                budget["left"] -= 1
                endpoint = endpoints[turn % len(endpoints)]
                turn += 1
                url = _url_for(endpoint, turn, index, uncached)
                started = time.perf_counter()
                try:
                    status = await asyncio.wait_for(fetch(client, url), timeout=30)
                except (httpx.HTTPError, OSError, asyncio.TimeoutError):
                    stats[endpoint].errors += 1
                    return  # the connection is in an unknown state: this client stops
                stats[endpoint].latencies_ms.append((time.perf_counter() - started) * 1000)
                counts = stats[endpoint].statuses
                counts[status] = counts.get(status, 0) + 1
                if think_s:
                    await asyncio.sleep(rng.expovariate(1 / think_s))

    await asyncio.gather(*(one_client(first_index + i) for i in range(clients)))
    return {e: {"latencies_ms": s.latencies_ms, "statuses": s.statuses, "errors": s.errors} for e, s in stats.items()}


def _client_process(args: tuple) -> dict[str, dict]:
    return asyncio.run(_client_loop(*args))


def run_clients(
    base_url: str, endpoints: list[str], clients: int, requests: int, duration_s: float, think_s: float,
    processes: int, uncached: bool = False, kind: str = "httpx",
) -> tuple[dict[str, EndpointStats], float]:
    """Spread the clients over a few processes so the load generator's own CPU is not the bottleneck measured."""
    processes = max(1, min(processes, clients))
    shares = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    budgets = [requests * share // clients for share in shares]
    starts = [sum(shares[:i]) for i in range(processes)]
    jobs = [(base_url, endpoints, n, b, duration_s, think_s, uncached, first, kind)
            for n, b, first in zip(shares, budgets, starts)]  # fmt: skip
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_client_process, jobs)
    elapsed = time.perf_counter() - started
    stats = {e: EndpointStats() for e in endpoints}
    for part in parts:
        for endpoint, raw in part.items():
            stats[endpoint].latencies_ms += raw["latencies_ms"]
            stats[endpoint].errors += raw["errors"]
            for status, n in raw["statuses"].items():
                stats[endpoint].statuses[status] = stats[endpoint].statuses.get(status, 0) + n
    return stats, elapsed


def markdown(stats: dict[str, EndpointStats], elapsed: float) -> str:
    lines = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | statuses | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|"]  # fmt: skip
    for endpoint, s in stats.items():
        n = len(s.latencies_ms)
        lines.append(
            f"| `{endpoint}` | {n} | {n / elapsed:.0f} | {s.percentile(50):.1f} | {s.percentile(95):.1f} | "
            f"{s.percentile(99):.1f} | {max(s.latencies_ms, default=float('nan')):.1f} | "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(s.statuses.items()))} | {s.errors} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20_000, help="total request budget (bounded)")
    parser.add_argument("--duration", type=float, default=60.0, help="stop after this many seconds (bounded)")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2, 3, 4))
    parser.add_argument("--endpoint", action="append", help=f"path to load (default: {', '.join(DEFAULT_ENDPOINTS)})")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="mean pause of each client between requests (exponential; 0 = closed loop)")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the clients are spread over")
    parser.add_argument("--refresh", action="store_true", help="reload the snapshot in a loop while measuring")
    parser.add_argument("--uncached", action="store_true",
                        help="never repeat a URL (varying limit), so no response is replayed from the cache")
    parser.add_argument("--client", choices=("httpx", "raw"), default="httpx",
                        help="load generator: httpx clients, or a minimal HTTP/1.1 client that leaves more CPU to the "
                             "server on a small machine")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1 or not 0 < args.duration <= 600:
        parser.error("clients and requests must be positive, duration in (0, 600] seconds")

    endpoints = args.endpoint or list(DEFAULT_ENDPOINTS)
    port = free_port()
    base_url = f"http://{LOOPBACK}:{port}"
    server = start_server(args.database_url, port, args.workers)
    stop, counter, writer = multiprocessing.Event(), multiprocessing.Value("i", 0), None
    try:
        wait_until_up(base_url, server)
        for endpoint in endpoints:  # warm the caches and connection pools once
            response = httpx.get(base_url + endpoint, timeout=30)
            if response.status_code != 200:
                raise SystemExit(f"{endpoint} answered {response.status_code}: {response.text[:200]}")
        if args.refresh:
            writer = multiprocessing.Process(target=refresh_loop, args=(args.database_url, stop, counter), daemon=True)
            writer.start()
            time.sleep(1.0)  # let the first write transaction begin
        stats, elapsed = run_clients(base_url, endpoints, args.clients, args.requests, args.duration,
                                     args.think_ms / 1000, args.client_processes, args.uncached, args.client)
    finally:
        stop.set()
        if writer is not None:
            writer.join(timeout=120)
            if writer.is_alive():
                writer.terminate()
        server.terminate()
        server.wait(timeout=30)

    print(f"database: {args.database_url.split('@')[-1]} · workers: {args.workers} · clients: {args.clients} "
          f"({args.client}) in {args.client_processes} processes · think time: {args.think_ms:g} ms · "
          f"{'uncached URLs · ' if args.uncached else ''}"
          f"elapsed: {elapsed:.1f} s · background refreshes completed: {counter.value if args.refresh else 'off'}")
    print(markdown(stats, elapsed))
    if args.json:
        args.json.write_text(json.dumps({
            "database": args.database_url.split("@")[-1], "workers": args.workers, "clients": args.clients,
            "client_processes": args.client_processes, "client": args.client, "think_ms": args.think_ms,
            "uncached": args.uncached,
            "elapsed_s": elapsed, "refreshes": counter.value if args.refresh else None,
            "endpoints": {e: {"n": len(s.latencies_ms), "p50": s.percentile(50), "p95": s.percentile(95),
                              "p99": s.percentile(99), "errors": s.errors, "statuses": s.statuses}
                          for e, s in stats.items()},
        }, indent=2))  # fmt: skip
    failed = any(s.errors or set(s.statuses) - {200} for s in stats.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
