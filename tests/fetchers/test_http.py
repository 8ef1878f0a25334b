"""fetchers.http: retries, Retry-After, backoff, rate limit, key hygiene, base-URL override, conditional cache."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from fetchers.errors import SourceUnavailableError
from fetchers.registry import http_policies
from fetchers.http import (
    HostRateLimiter,
    HttpConfig,
    backoff_delay,
    base_urls_from_env,
    build_client,
    parse_retry_after,
    redact_url,
)

SECRET = "s3cr3t-key-value"


def fast_config(**overrides) -> HttpConfig:
    cache_max_age = overrides.pop("cache_max_age", {})
    policies = http_policies(min_interval_s=0.0)
    for sid, age in cache_max_age.items():
        policies[sid] = policies[sid].model_copy(update={"cache_max_age_s": age})
    values = dict(contact_email="ops@example.org", backoff_base=0.001, backoff_cap=0.01, policies=policies, max_retries=4)
    values.update(overrides)
    return HttpConfig(**values)


class Script:
    """A MockTransport handler that answers from a list of responses and records what it was asked."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def client_for(script: Script, config: HttpConfig, sleeps: list[float], source="worldbank", base="https://api.example.org"):
    return build_client(source, base, config, transport=httpx.MockTransport(script), limiter=HostRateLimiter(),
                        sleep=sleeps.append)


# -- Retry-After and backoff -----------------------------------------------------------------------


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7", now) == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == pytest.approx(30.0)
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@given(st.integers(min_value=0, max_value=10**6))
def test_retry_after_seconds_is_never_negative(seconds):
    assert parse_retry_after(str(seconds)) == float(seconds)


@given(
    attempt=st.integers(min_value=0, max_value=30),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.01, max_value=600),
    draw=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_backoff_is_jittered_within_half_and_full_capped_ceiling(attempt, base, cap, draw):
    ceiling = min(cap, base * 2**attempt)
    delay = backoff_delay(attempt, base, cap, rng=lambda: draw)
    assert ceiling / 2 - 1e-12 <= delay <= ceiling + 1e-12


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=6, max_size=40))
def test_redacted_url_never_contains_the_key(secret):
    url = f"https://api.openalex.org/works?filter=x:1&api_key={secret}&mailto=a@b.org"
    cleaned = redact_url(url, [secret])
    assert secret not in cleaned
    # The rest of the URL survives, unless the secret happens to spell part of it (then masking it is right).
    if secret not in url.replace(secret, ""):
        assert "filter=x%3A1" in cleaned or "filter=x:1" in cleaned


# -- retries -----------------------------------------------------------------------------------------


def test_429_with_retry_after_then_success_waits_what_the_server_asked():
    script = Script(httpx.Response(429, headers={"Retry-After": "2"}), httpx.Response(200, text="ok"))
    sleeps: list[float] = []
    with client_for(script, fast_config(), sleeps) as client:
        response = client.get("/v2/thing")
    assert response.status_code == 200 and response.text == "ok"
    assert len(script.requests) == 2
    assert sleeps == [2.0]


def test_503_twice_then_success_backs_off_exponentially():
    script = Script(httpx.Response(503), httpx.Response(503), httpx.Response(200, text="ok"))
    sleeps: list[float] = []
    config = fast_config(backoff_base=0.01, backoff_cap=10)
    with client_for(script, config, sleeps) as client:
        assert client.get("/x").status_code == 200
    assert len(script.requests) == 3
    assert len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02


def test_connection_error_is_retried():
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, text="ok"))
    sleeps: list[float] = []
    with client_for(script, fast_config(), sleeps) as client:
        assert client.get("/x").text == "ok"
    assert len(sleeps) == 1


def test_retries_exhausted_is_source_unavailable_and_names_the_url_without_key():
    script = Script(*[httpx.Response(502) for _ in range(3)])
    config = fast_config(max_retries=2, api_keys={"openalex": SecretStr(SECRET)})
    with client_for(script, config, [], source="openalex") as client:
        with pytest.raises(SourceUnavailableError) as caught:
            client.get("/works", params={"filter": "publication_year:2020"})
    assert len(script.requests) == 3
    assert "/works" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_retry_after_longer_than_cap_gives_up_at_once():
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200))
    with client_for(script, fast_config(retry_after_cap=60), []) as client:
        with pytest.raises(SourceUnavailableError, match="3600"):
            client.get("/x")
    assert len(script.requests) == 1


def test_client_errors_are_not_retried():
    script = Script(httpx.Response(404, text="no such indicator"))
    with client_for(script, fast_config(), []) as client:
        assert client.get("/x").status_code == 404
    assert len(script.requests) == 1


# -- identity, keys, base URL ------------------------------------------------------------------------


def test_user_agent_names_version_and_contact():
    script = Script(httpx.Response(200))
    with client_for(script, fast_config(version="1.2.3"), []) as client:
        client.get("/x")
    assert script.requests[0].headers["user-agent"] == "aitrack/1.2.3 (+ops@example.org)"


def test_key_and_mailto_reach_the_server_but_not_the_logs_or_the_response_url(caplog):
    script = Script(httpx.Response(200, text="{}"))
    config = fast_config(api_keys={"openalex": SecretStr(SECRET)})
    with caplog.at_level(logging.DEBUG, logger="fetchers.http"):
        with client_for(script, config, [], source="openalex") as client:
            response = client.get("/works", params={"group_by": "publication_year"})
    sent = script.requests[0].url
    assert sent.params["api_key"] == SECRET
    assert sent.params["mailto"] == "ops@example.org"
    assert SECRET not in str(response.request.url)
    assert SECRET not in caplog.text
    assert "/works" in caplog.text


def test_base_url_override_keeps_path_and_query():
    script = Script(httpx.Response(200))
    config = fast_config(base_urls={"worldbank": "http://127.0.0.1:8765"})
    with client_for(script, config, [], source="worldbank", base="https://api.worldbank.org") as client:
        client.get("/v2/country/USA;CHN/indicator/SP.POP.TOTL", params={"format": "json", "per_page": 1000})
    url = script.requests[0].url
    assert (url.scheme, url.host, url.port) == ("http", "127.0.0.1", 8765)
    assert url.path == "/v2/country/USA;CHN/indicator/SP.POP.TOTL"
    assert url.params["format"] == "json" and url.params["per_page"] == "1000"


def test_base_urls_from_environment():
    env = {"AITRACK_WORLDBANK_BASE_URL": "http://127.0.0.1:8765/", "AITRACK_DATABASE_URL": "sqlite://", "PATH": "/bin"}
    assert base_urls_from_env(env) == {"worldbank": "http://127.0.0.1:8765"}


def test_real_local_server_receives_the_overridden_request():
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            seen.append(self.path)
            body = b"[]"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        config = fast_config(base_urls={"worldbank": f"http://127.0.0.1:{port}"})
        with build_client("worldbank", "https://api.worldbank.org", config, limiter=HostRateLimiter()) as client:
            response = client.get("/v2/country/USA/indicator/SP.POP.TOTL", params={"format": "json"})
        assert response.status_code == 200
        assert seen == ["/v2/country/USA/indicator/SP.POP.TOTL?format=json"]
    finally:
        server.shutdown()
        server.server_close()


# -- rate limit ----------------------------------------------------------------------------------------


def test_rate_limiter_spaces_requests_to_one_host_only():
    now = [100.0]
    slept: list[float] = []

    def fake_sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    limiter = HostRateLimiter(clock=lambda: now[0], sleep=fake_sleep)
    assert limiter.wait("a.example", 1.5) == 0.0
    assert limiter.wait("a.example", 1.5) == pytest.approx(1.5)
    assert limiter.wait("b.example", 1.5) == 0.0
    now[0] += 10
    assert limiter.wait("a.example", 1.5) == 0.0
    assert slept == [pytest.approx(1.5)]


@given(st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=20), st.floats(min_value=0.01, max_value=3))
def test_rate_limited_starts_are_at_least_the_interval_apart(gaps, interval):
    now = [0.0]
    starts: list[float] = []

    def fake_sleep(seconds):
        now[0] += seconds

    limiter = HostRateLimiter(clock=lambda: now[0], sleep=fake_sleep)
    for gap in gaps:
        now[0] += gap
        limiter.wait("h", interval)
        starts.append(now[0])
    assert all(b - a >= interval - 1e-9 for a, b in zip(starts, starts[1:]))


# -- conditional cache -----------------------------------------------------------------------------------


def test_cache_revalidates_with_etag_and_serves_the_stored_body_on_304(tmp_path):
    script = Script(
        httpx.Response(200, text="STRUCTURE,x\n", headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT"}),
        httpx.Response(304),
    )
    config = fast_config(cache_dir=tmp_path, cache_max_age={"oecd": 0.0})
    with client_for(script, config, [], source="oecd") as client:
        first = client.get("/data/flow/key")
        second = client.get("/data/flow/key")
    assert first.text == second.text == "STRUCTURE,x\n"
    assert "if-none-match" not in script.requests[0].headers
    assert script.requests[1].headers["if-none-match"] == '"v1"'
    assert script.requests[1].headers["if-modified-since"] == "Wed, 01 Jan 2025 00:00:00 GMT"
    assert second.headers["x-aitrack-cache"] == "revalidated"


def test_cache_within_max_age_makes_no_request(tmp_path):
    script = Script(httpx.Response(200, text="body", headers={"ETag": '"v1"'}))
    config = fast_config(cache_dir=tmp_path, cache_max_age={"oecd": 3600.0})
    with client_for(script, config, [], source="oecd") as client:
        client.get("/data/a")
        again = client.get("/data/a")
    assert len(script.requests) == 1
    assert again.text == "body" and again.headers["x-aitrack-cache"] == "fresh"


def test_sources_without_cache_do_not_write_to_disk(tmp_path):
    script = Script(httpx.Response(200, text="a"), httpx.Response(200, text="b"))
    config = fast_config(cache_dir=tmp_path)
    with client_for(script, config, [], source="worldbank") as client:
        assert client.get("/x").text == "a"
        assert client.get("/x").text == "b"
    assert list(tmp_path.iterdir()) == []
