"""Issue 14, failure 4: secrets leaked two ways. A redirect to another host now goes without the key, and every text
the application stores, logs or prints is scrubbed of configured secrets (here planted in a provider's error body).

The OpenAlex bodies are the fixtures in tests/fixtures/live/openalex (built from real counts in the API's format); the
400 body has the shape OpenAlex sends for a bad query (`{"error": …, "message": …}`), echoing the request URL, key
included, as the probe's provider did.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from pydantic import SecretStr
from sqlalchemy import inspect, text

from db.session import make_engine
from fetchers.http import HostRateLimiter, HttpConfig, build_client
from fetchers.registry import http_policies

from .helpers import aitrack_env, run_aitrack, serve

SECRET = "oa-4f9c2e7d1b-secret-key"
OPENALEX = Path(__file__).resolve().parents[1] / "fixtures" / "live" / "openalex"


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with a real OpenAlex group_by body and remembers what it was asked (path and headers)."""

    seen: list[str] = []

    def log_message(self, *args):
        return

    def do_GET(self):  # noqa: N802
        type(self).seen.append(self.path + "\n" + str(self.headers))
        body = (OPENALEX / "ai_2010.json").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def redirector(target: str):
    class Redirect(BaseHTTPRequestHandler):
        """The provider's host: sends every request elsewhere, query (and key) and all."""

        seen: list[str] = []

        def log_message(self, *args):
            return

        def do_GET(self):  # noqa: N802
            type(self).seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Redirect


def test_a_redirect_to_another_host_does_not_carry_the_key():
    Recorder.seen = []
    with serve(Recorder, host="127.0.0.2") as elsewhere:
        handler = redirector(elsewhere)
        with serve(handler) as provider:
            config = HttpConfig(contact_email="ops@example.org", api_keys={"openalex": SecretStr(SECRET)},
                                policies=http_policies(min_interval_s=0.0), backoff_base=0.001, max_retries=0)  # fmt: skip
            with build_client("openalex", provider, config, limiter=HostRateLimiter()) as client:
                response = client.get("/works", params={"filter": "publication_year:2010", "group_by": "x"})
    assert response.status_code == 200 and str(response.url).startswith("http://127.0.0.2:")
    assert SECRET in handler.seen[0]  # the provider's own host gets its key
    assert len(Recorder.seen) == 1 and SECRET not in Recorder.seen[0]
    assert "api_key" not in Recorder.seen[0] and "publication_year" in Recorder.seen[0]


def test_a_redirect_during_a_refresh_never_reaches_the_other_host_with_the_key(tmp_path, sqlite_url):
    Recorder.seen = []
    with serve(Recorder, host="127.0.0.2") as elsewhere:
        with serve(redirector(elsewhere)) as provider:
            env = aitrack_env(sqlite_url, tmp_path / "data", AITRACK_OPENALEX_BASE_URL=provider,
                              AITRACK_OPENALEX_API_KEY=SECRET)  # fmt: skip
            assert run_aitrack(["db", "upgrade"], env).returncode == 0
            run_aitrack(["refresh", "--source", "openalex", "--since", "2025"], env, timeout=300)
    assert Recorder.seen, "the refresh never followed the redirect"
    assert not [seen for seen in Recorder.seen if SECRET in seen]


class EchoingProvider(BaseHTTPRequestHandler):
    """A provider that rejects the query and echoes the request URL, key included, in its error body."""

    def log_message(self, *args):
        return

    def do_GET(self):  # noqa: N802
        body = json.dumps({"error": "Invalid query parameters error.",
                           "message": f"Bad filter in https://api.openalex.org{self.path}"}).encode()  # fmt: skip
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _all_text(database_url: str) -> str:
    engine = make_engine(database_url)
    parts = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f"SELECT * FROM {table}")):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_a_key_echoed_in_a_provider_body_is_stored_logged_and_printed_nowhere(tmp_path, database_url):
    with serve(EchoingProvider) as provider:
        env = aitrack_env(database_url, tmp_path / "data", AITRACK_OPENALEX_BASE_URL=provider,
                          AITRACK_OPENALEX_API_KEY=SECRET, AITRACK_LOG_LEVEL="DEBUG")  # fmt: skip
        assert run_aitrack(["db", "upgrade"], env).returncode == 0
        refresh = run_aitrack(["refresh", "--source", "openalex", "--since", "2025"], env)
        json_log = run_aitrack(["refresh", "--source", "openalex", "--since", "2025"], {**env, "AITRACK_LOG_FORMAT": "json"})
    assert refresh.returncode == 2
    assert "HTTP 400" in refresh.stdout + refresh.stderr  # the provider's message is kept, minus the key
    status = run_aitrack(["status", "--format", "json"], env)
    check = run_aitrack(["status", "--check"], env)
    errors = json.loads(status.stdout)["sources"][0]["error"]
    assert "Bad filter in https://api.openalex.org/works" in errors and "***" in errors
    for output in (refresh.stdout, refresh.stderr, json_log.stdout, json_log.stderr, status.stdout, check.stderr,
                   _all_text(database_url)):
        assert SECRET not in output
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file() and not path.name.startswith("aitrack.db"):
            assert SECRET.encode() not in path.read_bytes(), path


def test_the_key_never_reaches_the_http_cache_or_an_internal_error_log(tmp_path, monkeypatch):
    """An internal error's one line and its traceback file are scrubbed too."""
    from typer.testing import CliRunner

    from aitrack.cli import app
    from aitrack.jobs import build as build_job

    monkeypatch.setenv("AITRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'a.db'}")
    monkeypatch.setenv("AITRACK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AITRACK_OPENALEX_API_KEY", SECRET)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0

    def leaky(*args, **kwargs):
        raise RuntimeError(f"request to https://api.openalex.org/works?api_key={SECRET} failed")

    monkeypatch.setattr(build_job, "build", leaky)
    result = runner.invoke(app, ["build"])
    assert result.exit_code == 4 and SECRET not in result.output and "api_key=***" in result.output
    log = (tmp_path / "data" / "logs" / "aitrack-errors.log").read_text()
    assert "RuntimeError" in log and SECRET not in log
