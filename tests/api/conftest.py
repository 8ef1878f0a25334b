"""Module-scoped databases (SQLite; PostgreSQL when configured) filled by the real pipeline, and API clients."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from aitrack.api import create_app
from db.read import Reader
from db.session import make_engine
from tests.realdb import RealDbSummary, build_real_db
from tests.conftest import postgres_schema_url


@dataclass
class FixtureDatabase:
    url: str
    engine: Engine
    repo: Reader
    summary: RealDbSummary


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def fixture_db(request, tmp_path_factory) -> Iterator[FixtureDatabase]:
    """A database filled once per module by the real pipeline (tests/realdb.py); tests on it only read."""

    @contextmanager
    def url_for(kind: str) -> Iterator[str]:
        if kind == "sqlite":
            yield f"sqlite:///{tmp_path_factory.mktemp('api') / 'aitrack.db'}"
        else:
            with postgres_schema_url() as url:
                yield url

    with url_for(request.param) as url:
        engine = make_engine(url)
        summary = build_real_db(engine)
        repo = Reader(engine)
        try:
            yield FixtureDatabase(url, engine, repo, summary)
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def client(fixture_db) -> Iterator[TestClient]:
    with TestClient(create_app(fixture_db.repo)) as test_client:
        yield test_client
