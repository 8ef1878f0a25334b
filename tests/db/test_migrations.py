from __future__ import annotations

from sqlalchemy import inspect

from db.migrate import current_revision, downgrade, head_revision, schema_drift, upgrade
from db.models import Base
from db.session import make_engine

VIEWS = {"v_latest_observation", "v_forecast_latest", "v_crossover_latest", "v_dimension_latest"}


def test_upgrade_from_empty_creates_every_table_and_view(database_url):
    engine = make_engine(database_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    inspector = inspect(engine)
    assert set(Base.metadata.tables) <= set(inspector.get_table_names())
    assert VIEWS <= set(inspector.get_view_names())
    engine.dispose()


def test_models_and_migrations_do_not_drift(engine):
    assert schema_drift(engine) == []


def test_downgrade_then_upgrade_round_trips(engine):
    downgrade(engine, "base")
    assert not (set(Base.metadata.tables) & set(inspect(engine).get_table_names()))
    upgrade(engine)
    assert VIEWS <= set(inspect(engine).get_view_names())
