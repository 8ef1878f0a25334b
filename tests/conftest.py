"""Shared fixtures: migrated SQLite and PostgreSQL engines (PostgreSQL only when AITRACK_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine, text

from db.migrate import upgrade
from db.session import make_engine

# Property tests check invariants, not speed: no per-example deadline (two xdist workers share two cores).
settings.register_profile("aitrack", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("aitrack")

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real files the snapshot was built from (outside the repository); cross-checks against them skip when absent.
SHARED_DATA = Path(os.environ.get("AITRACK_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))

POSTGRES_URL = os.environ.get("AITRACK_TEST_POSTGRES_URL")
POSTGRES_SKIP_REASON = (
    "PostgreSQL tests need AITRACK_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); "
    "CI sets it, a user's machine may not"
)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'aitrack.db'}"


@contextmanager
def postgres_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh schema, dropped afterwards: tests never see each other's rows."""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP_REASON)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with postgres_schema_url() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()
