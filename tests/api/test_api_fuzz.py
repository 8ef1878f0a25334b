"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis): no 5xx, responses as documented.

`positive_data_acceptance` is left out on purpose: `from` after `to` is schema-valid (OpenAPI cannot relate two
parameters) yet answered 422 by design. AITRACK_FUZZ_EXAMPLES raises the number of examples per operation.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from aitrack.api import create_app
from tests.api.live_server import live_server

EXAMPLES = int(os.environ.get("AITRACK_FUZZ_EXAMPLES", "10"))


@pytest.fixture(scope="module")
def served(fixture_db):
    app = create_app(fixture_db.repo)
    with live_server(app) as base_url:
        yield app, base_url


@pytest.fixture
def api_schema(served):
    # Loaded from the document and sent over HTTP to a real uvicorn: the in-process ASGI transport starts a
    # fresh client per request, which is several times slower.
    app, _ = served
    return schemathesis.openapi.from_dict(app.openapi())


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_fuzzed_requests_never_fail_on_the_server(case, served):
    response = case.call(base_url=served[1])
    assert response.status_code < 500, response.text
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance, negative_data_rejection],
    )
