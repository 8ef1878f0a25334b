"""Issue 14, failure 5 for the network: an upstream body has a maximum size per source, and a request and a refresh
have total deadlines, so a server that drips one byte at a time cannot hold a refresh (and its lock) for as long as it
likes. The World Bank bodies are the recorded fixtures (tests/fixtures/live/worldbank)."""

from __future__ import annotations

import gzip
import time
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from fetchers.http import (
    DeadlineExceededError, HostRateLimiter, HttpConfig, PayloadTooLargeError, build_client,
)  # fmt: skip
from fetchers.registry import http_policies

from .helpers import WB_FIXTURES, aitrack_env, rows, run_aitrack, scalar, serve

GERD = (WB_FIXTURES / "gerd_page1.json").read_bytes()


class Drip(BaseHTTPRequestHandler):
    """One byte every `interval` seconds: of the status line and headers (`phase = "headers"`) or of the body."""

    phase = "body"
    interval = 0.05

    def log_message(self, *args):
        return

    def do_GET(self):  # noqa: N802
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(GERD)}\r\n\r\n").encode()
        try:
            if type(self).phase == "headers":
                for byte in head:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(type(self).interval)
            else:
                self.wfile.write(head)
            for byte in GERD:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(type(self).interval)
        except (BrokenPipeError, ConnectionResetError):
            return


class Big(BaseHTTPRequestHandler):
    """The GERD page, repeated past any limit: with a Content-Length, chunked without one, or gzip-compressed."""

    mode = "declared"
    copies = 2000

    def log_message(self, *args):
        return

    def do_GET(self):  # noqa: N802
        body = GERD * type(self).copies
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if type(self).mode == "gzip":
            body = gzip.compress(body)
            self.send_header("Content-Encoding", "gzip")
        if type(self).mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, len(body), 65536):
                part = body[start:start + 65536]
                try:
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return


def _client(base: str, **config) -> httpx.Client:
    values = dict(policies=http_policies(min_interval_s=0.0), backoff_base=0.001, max_retries=2)
    values.update(config)
    return build_client("worldbank", base, HttpConfig(**values), limiter=HostRateLimiter())


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_server_dripping_bytes_hits_the_request_deadline(phase):
    Drip.phase = phase
    with serve(Drip) as base:
        started = time.monotonic()
        with _client(base, request_deadline_s=1.0, read_timeout=30.0) as client:
            with pytest.raises(DeadlineExceededError, match="request deadline of 1 s passed"):
                client.get("/v2/country/USA/indicator/GB.XPD.RSDV.GD.ZS")
        assert time.monotonic() - started < 3.0  # not the ~130 s the body would take, nor retries after the deadline


@pytest.mark.parametrize("mode", ["declared", "chunked", "gzip"])
def test_a_body_over_the_limit_is_refused_without_keeping_it(mode):
    Big.mode = mode
    with serve(Big) as base:
        with _client(base, max_body_bytes=1_000_000) as client:
            with pytest.raises(PayloadTooLargeError, match="larger than the 1000000-byte limit"):
                client.get("/v2/country/USA/indicator/GB.XPD.RSDV.GD.ZS")


def test_a_body_within_the_limit_arrives_whole_and_decoded():
    Big.mode, Big.copies = "gzip", 3
    try:
        with serve(Big) as base:
            with _client(base, max_body_bytes=1_000_000) as client:
                assert client.get("/v2/x").content == GERD * 3
    finally:
        Big.copies = 2000


def test_a_refresh_against_an_oversized_body_fails_the_source_and_stores_nothing(tmp_path, database_url):
    Big.mode = "chunked"
    with serve(Big) as base:
        env = aitrack_env(database_url, tmp_path / "data", AITRACK_WORLDBANK_BASE_URL=base,
                          AITRACK_HTTP_MAX_BODY_BYTES="1000000")  # fmt: skip
        assert run_aitrack(["db", "upgrade"], env).returncode == 0
        done = run_aitrack(["refresh", "--source", "worldbank"], env)
    assert done.returncode == 2
    [(status, error)] = rows(database_url, "SELECT status, error FROM fetch_run")
    assert status == "failed" and "PayloadTooLargeError" in error and "1000000-byte limit" in error
    assert scalar(database_url, "SELECT count(*) FROM raw_payload") == 0


def test_a_slow_server_cannot_hold_a_refresh_past_its_deadline(tmp_path, sqlite_url):
    """The probe: a 1-byte-per-second server held a refresh, and its lock, for as long as it liked."""
    Drip.phase, Drip.interval = "body", 0.2
    with serve(Drip) as base:
        env = aitrack_env(sqlite_url, tmp_path / "data", AITRACK_WORLDBANK_BASE_URL=base,
                          AITRACK_REFRESH_DEADLINE_S="2", AITRACK_HTTP_REQUEST_DEADLINE_S="600")  # fmt: skip
        assert run_aitrack(["db", "upgrade"], env).returncode == 0
        started = time.monotonic()
        done = run_aitrack(["refresh", "--source", "worldbank"], env)
        elapsed = time.monotonic() - started
    Drip.interval = 0.05
    assert done.returncode == 2
    assert elapsed < 60  # the body alone would take over 15 minutes at this pace
    [(status, error)] = rows(sqlite_url, "SELECT status, error FROM fetch_run")
    assert status == "failed" and "refresh deadline of 2 s passed" in error
    assert scalar(sqlite_url, "SELECT count(*) FROM job_lock") == 0
