"""round-2 contracts: observation periods, official runs, pairs on forecasts, crossover nowcast fields

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

- observation.year_start (== year for annual values; a multi-year total starts earlier), CHECK year_start <= year;
- forecast_run.kind (official | adhoc | backtest) and .pair; the *_latest views show official runs only;
- forecast.pair and .nowcast; crossover.leader_since, data_end_year, p_crossed_by_now, stale, notes;
- dimension_score.weight_nowcast.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.views import VIEWS_BY_REVISION, create_views, drop_views

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

VIEWS = VIEWS_BY_REVISION["0002"]


def upgrade() -> None:
    drop_views(op.execute, VIEWS)
    with op.batch_alter_table("observation") as batch:
        batch.add_column(sa.Column("year_start", sa.Integer(), nullable=True))
    op.execute("UPDATE observation SET year_start = year")
    with op.batch_alter_table("observation") as batch:
        batch.alter_column("year_start", existing_type=sa.Integer(), nullable=False)
        batch.create_check_constraint("period", "year_start <= year")

    with op.batch_alter_table("forecast_run") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("pair", sa.String(length=7), nullable=True))
    # Runs before this revision: current-data runs were what the views showed (official); as-of runs were backtests.
    op.execute("UPDATE forecast_run SET kind = CASE WHEN as_of IS NULL THEN 'official' ELSE 'backtest' END, pair = 'CHN-USA'")
    with op.batch_alter_table("forecast_run") as batch:
        batch.alter_column("kind", existing_type=sa.String(length=20), nullable=False)
        batch.alter_column("pair", existing_type=sa.String(length=7), nullable=False)

    with op.batch_alter_table("forecast") as batch:
        batch.add_column(sa.Column("pair", sa.String(length=7), nullable=True))
        batch.add_column(sa.Column("nowcast", sa.Boolean(), nullable=True))
    op.execute("UPDATE forecast SET pair = 'CHN-USA', nowcast = false")
    with op.batch_alter_table("forecast") as batch:
        batch.alter_column("pair", existing_type=sa.String(length=7), nullable=False)
        batch.alter_column("nowcast", existing_type=sa.Boolean(), nullable=False)
        batch.drop_constraint("uq_forecast_run_id_subject_country_model_year", type_="unique")
        batch.create_unique_constraint(
            "uq_forecast_run_id_subject_pair_country_model_year", ["run_id", "subject", "pair", "country", "model", "year"]
        )

    with op.batch_alter_table("crossover") as batch:
        batch.add_column(sa.Column("leader_since", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("data_end_year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("p_crossed_by_now", sa.Float(), nullable=True))
        batch.add_column(sa.Column("stale", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("notes", sa.JSON(), nullable=True))
    op.execute("UPDATE crossover SET stale = false, notes = '[]'")
    with op.batch_alter_table("crossover") as batch:
        batch.alter_column("stale", existing_type=sa.Boolean(), nullable=False)
        batch.alter_column("notes", existing_type=sa.JSON(), nullable=False)

    with op.batch_alter_table("dimension_score") as batch:
        batch.add_column(sa.Column("weight_nowcast", sa.Float(), nullable=True))
    op.execute("UPDATE dimension_score SET weight_nowcast = 0")
    with op.batch_alter_table("dimension_score") as batch:
        batch.alter_column("weight_nowcast", existing_type=sa.Float(), nullable=False)
    create_views(op.execute, VIEWS)


def downgrade() -> None:
    drop_views(op.execute, VIEWS)
    with op.batch_alter_table("dimension_score") as batch:
        batch.drop_column("weight_nowcast")
    with op.batch_alter_table("crossover") as batch:
        for name in ("notes", "stale", "p_crossed_by_now", "data_end_year", "leader_since"):
            batch.drop_column(name)
    with op.batch_alter_table("forecast") as batch:
        batch.drop_constraint("uq_forecast_run_id_subject_pair_country_model_year", type_="unique")
        batch.create_unique_constraint(
            "uq_forecast_run_id_subject_country_model_year", ["run_id", "subject", "country", "model", "year"]
        )
        batch.drop_column("nowcast")
        batch.drop_column("pair")
    with op.batch_alter_table("forecast_run") as batch:
        batch.drop_column("pair")
        batch.drop_column("kind")
    with op.batch_alter_table("observation") as batch:
        batch.drop_constraint("period", type_="check")
        batch.drop_column("year_start")
    create_views(op.execute, _views_0001())


def _views_0001() -> dict[str, str]:
    """0001's frozen view text, read from that revision's module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("0001_initial_schema.py")
    spec = importlib.util.spec_from_file_location("aitrack_migration_0001", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module.VIEWS
