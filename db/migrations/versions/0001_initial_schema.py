"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22

Tables for provenance, observations, runs and results, and the four read views for dashboards
(documented column by column in docs/dashboard-views.md).
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# The views are frozen here as they were at this revision; a later change to a view gets its own migration.
VIEWS = {
    "v_latest_observation": """
SELECT ranked.indicator_id AS indicator, ranked.country, ranked.year, ranked.value, ranked.unit,
       ranked.value_kind, ranked.source_id AS source, ranked.source_series, ranked.vintage,
       ranked.retrieved_at, ranked.snapshot_id
FROM (
    SELECT o.*, ROW_NUMBER() OVER (
        PARTITION BY o.indicator_id, o.country, o.year
        ORDER BY CASE WHEN o.value_kind IN ('measured', 'estimate', 'provisional') THEN 0 ELSE 1 END,
                 COALESCE(s.priority, 1000), o.vintage DESC, o.retrieved_at DESC, o.id DESC
    ) AS rn
    FROM observation o
    LEFT JOIN indicator_source s ON s.indicator_id = o.indicator_id AND s.source_id = o.source_id
) ranked
WHERE ranked.rn = 1
""",
    "v_forecast_latest": """
WITH subject_runs AS (
    SELECT DISTINCT f.subject, f.run_id, r.created_at
    FROM forecast f JOIN forecast_run r ON r.id = f.run_id
    WHERE r.as_of IS NULL
), latest AS (
    SELECT subject, run_id FROM (
        SELECT subject, run_id,
               ROW_NUMBER() OVER (PARTITION BY subject ORDER BY created_at DESC, run_id DESC) AS rn
        FROM subject_runs
    ) t WHERE t.rn = 1
)
SELECT f.run_id, r.created_at, f.subject, f.subject_kind, f.country, f.model, f.year,
       f.mean, f.lo_80, f.hi_80, f.lo_95, f.hi_95
FROM forecast f
JOIN latest l ON l.subject = f.subject AND l.run_id = f.run_id
JOIN forecast_run r ON r.id = f.run_id
""",
    "v_crossover_latest": """
SELECT ranked.run_id, ranked.created_at, ranked.subject, ranked.subject_kind, ranked.pair, ranked.leader_now,
       ranked.status, ranked.last_crossing_year, ranked.median_year, ranked.lo_80, ranked.hi_80,
       ranked.lo_95, ranked.hi_95, ranked.p_by, ranked.p_after_horizon, ranked.horizon, ranked.n_paths,
       ranked.model
FROM (
    SELECT c.*, r.created_at, ROW_NUMBER() OVER (
        PARTITION BY c.subject, c.pair ORDER BY r.created_at DESC, c.run_id DESC
    ) AS rn
    FROM crossover c JOIN forecast_run r ON r.id = c.run_id
    WHERE r.as_of IS NULL
) ranked
WHERE ranked.rn = 1
""",
    "v_dimension_latest": """
WITH latest AS (
    SELECT dimension, pair, build_id FROM (
        SELECT dimension, pair, build_id, ROW_NUMBER() OVER (
            PARTITION BY dimension, pair ORDER BY computed_at DESC, build_id DESC
        ) AS rn
        FROM (SELECT DISTINCT dimension, pair, build_id, computed_at FROM dimension_score) b
    ) t WHERE t.rn = 1
)
SELECT d.build_id, d.computed_at, d.dimension, d.pair, d.year, d.score, d.lo_80, d.hi_80, d.lo_95, d.hi_95,
       d.n_present, d.n_indicators, d.weight_present, d.status, d.leader
FROM dimension_score d
JOIN latest l ON l.dimension = d.dimension AND l.pair = d.pair AND l.build_id = d.build_id
""",
}


def upgrade() -> None:
    op.create_table('dimension_score',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('build_id', sa.String(length=36), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dimension', sa.String(length=20), nullable=False),
    sa.Column('pair', sa.String(length=7), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('lo_80', sa.Float(), nullable=True),
    sa.Column('hi_80', sa.Float(), nullable=True),
    sa.Column('lo_95', sa.Float(), nullable=True),
    sa.Column('hi_95', sa.Float(), nullable=True),
    sa.Column('n_present', sa.Integer(), nullable=False),
    sa.Column('n_indicators', sa.Integer(), nullable=False),
    sa.Column('weight_present', sa.Float(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('leader', sa.String(length=7), nullable=True),
    sa.Column('data_fingerprint', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dimension_score')),
    sa.UniqueConstraint('build_id', 'dimension', 'pair', 'year', name=op.f('uq_dimension_score_build_id_dimension_pair_year'))
    )
    with op.batch_alter_table('dimension_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dimension_score_build_id'), ['build_id'], unique=False)
        batch_op.create_index('ix_dimension_score_latest', ['dimension', 'pair', 'computed_at'], unique=False)

    op.create_table('evidence',
    sa.Column('evidence_id', sa.String(length=12), nullable=False),
    sa.Column('document', sa.String(length=80), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('quote', sa.Text(), nullable=False),
    sa.Column('indicator', sa.String(length=80), nullable=False),
    sa.Column('country', sa.String(length=7), nullable=True),
    sa.Column('period_start', sa.Integer(), nullable=True),
    sa.Column('period_end', sa.Integer(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('value_kind', sa.String(length=20), nullable=False),
    sa.Column('source_named', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('evidence_id', name=op.f('pk_evidence'))
    )
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_indicator'), ['indicator'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_value_kind'), ['value_kind'], unique=False)

    op.create_table('fetch_run',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('n_payloads', sa.Integer(), nullable=False),
    sa.Column('rows_added', sa.Integer(), nullable=False),
    sa.Column('rows_unchanged', sa.Integer(), nullable=False),
    sa.Column('rows_revised', sa.Integer(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fetch_run'))
    )
    with op.batch_alter_table('fetch_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fetch_run_source_id'), ['source_id'], unique=False)

    op.create_table('forecast_run',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('as_of', sa.Integer(), nullable=True),
    sa.Column('horizon', sa.Integer(), nullable=False),
    sa.Column('n_paths', sa.Integer(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('configuration', sa.JSON(), nullable=False),
    sa.Column('code_version', sa.String(length=80), nullable=False),
    sa.Column('data_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecast_run'))
    )
    with op.batch_alter_table('forecast_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forecast_run_created_at'), ['created_at'], unique=False)

    op.create_table('indicator',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('comparison', sa.String(length=20), nullable=False),
    sa.Column('forecast_scale', sa.String(length=10), nullable=False),
    sa.Column('cadence_days', sa.Integer(), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('caveats', sa.JSON(), nullable=False),
    sa.Column('spec', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator'))
    )
    op.create_table('source',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('producer', sa.String(length=200), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('homepage', sa.String(length=500), nullable=False),
    sa.Column('licence', sa.String(length=300), nullable=False),
    sa.Column('citation', sa.Text(), nullable=False),
    sa.Column('redistributable', sa.Boolean(), nullable=False),
    sa.Column('cadence_days', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source'))
    )
    op.create_table('crossover',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('pair', sa.String(length=7), nullable=False),
    sa.Column('leader_now', sa.String(length=7), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('last_crossing_year', sa.Integer(), nullable=True),
    sa.Column('historical_crossings', sa.JSON(), nullable=False),
    sa.Column('median_year', sa.Integer(), nullable=True),
    sa.Column('lo_80', sa.Integer(), nullable=True),
    sa.Column('hi_80', sa.Integer(), nullable=True),
    sa.Column('lo_95', sa.Integer(), nullable=True),
    sa.Column('hi_95', sa.Integer(), nullable=True),
    sa.Column('p_by', sa.JSON(), nullable=False),
    sa.Column('p_after_horizon', sa.Float(), nullable=True),
    sa.Column('horizon', sa.Integer(), nullable=True),
    sa.Column('n_paths', sa.Integer(), nullable=False),
    sa.Column('model', sa.String(length=40), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['forecast_run.id'], name=op.f('fk_crossover_run_id_forecast_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_crossover')),
    sa.UniqueConstraint('run_id', 'subject', 'pair', name=op.f('uq_crossover_run_id_subject_pair'))
    )
    with op.batch_alter_table('crossover', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crossover_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_crossover_subject'), ['subject'], unique=False)

    op.create_table('forecast',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('run_id', sa.String(length=36), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('subject_kind', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=3), nullable=False),
    sa.Column('model', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('mean', sa.Float(), nullable=False),
    sa.Column('lo_80', sa.Float(), nullable=False),
    sa.Column('hi_80', sa.Float(), nullable=False),
    sa.Column('lo_95', sa.Float(), nullable=False),
    sa.Column('hi_95', sa.Float(), nullable=False),
    sa.CheckConstraint('lo_95 <= lo_80 AND lo_80 <= mean AND mean <= hi_80 AND hi_80 <= hi_95', name=op.f('ck_forecast_nested')),
    sa.ForeignKeyConstraint(['run_id'], ['forecast_run.id'], name=op.f('fk_forecast_run_id_forecast_run'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forecast')),
    sa.UniqueConstraint('run_id', 'subject', 'country', 'model', 'year', name=op.f('uq_forecast_run_id_subject_country_model_year'))
    )
    with op.batch_alter_table('forecast', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forecast_run_id'), ['run_id'], unique=False)
        batch_op.create_index('ix_forecast_subject', ['subject', 'country', 'year'], unique=False)

    op.create_table('indicator_source',
    sa.Column('indicator_id', sa.String(length=80), nullable=False),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicator.id'], name=op.f('fk_indicator_source_indicator_id_indicator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('indicator_id', 'source_id', name=op.f('pk_indicator_source'))
    )
    op.create_table('raw_payload',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('request_params', sa.JSON(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('retrieved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published', sa.String(length=40), nullable=True),
    sa.Column('licence', sa.String(length=300), nullable=False),
    sa.Column('citation', sa.Text(), nullable=False),
    sa.Column('redistributable', sa.Boolean(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('extra', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_raw_payload_source_id_source')),
    sa.PrimaryKeyConstraint('sha256', name=op.f('pk_raw_payload'))
    )
    with op.batch_alter_table('raw_payload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_raw_payload_source_id'), ['source_id'], unique=False)

    op.create_table('observation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('indicator_id', sa.String(length=80), nullable=False),
    sa.Column('country', sa.String(length=3), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('value_kind', sa.String(length=20), nullable=False),
    sa.Column('source_id', sa.String(length=40), nullable=False),
    sa.Column('source_series', sa.String(length=300), nullable=False),
    sa.Column('retrieved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('vintage', sa.String(length=40), nullable=False),
    sa.Column('snapshot_id', sa.String(length=64), nullable=False),
    sa.Column('fetch_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint("value_kind IN ('measured','estimate','provisional','projection','target','pledge','claim')", name=op.f('ck_observation_value_kind')),
    sa.ForeignKeyConstraint(['fetch_run_id'], ['fetch_run.id'], name=op.f('fk_observation_fetch_run_id_fetch_run')),
    sa.ForeignKeyConstraint(['indicator_id'], ['indicator.id'], name=op.f('fk_observation_indicator_id_indicator')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['raw_payload.sha256'], name=op.f('fk_observation_snapshot_id_raw_payload')),
    sa.ForeignKeyConstraint(['source_id'], ['source.id'], name=op.f('fk_observation_source_id_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observation')),
    sa.UniqueConstraint('indicator_id', 'country', 'year', 'source_id', 'vintage', name=op.f('uq_observation_indicator_id_country_year_source_id_vintage'))
    )
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observation_fetch_run_id'), ['fetch_run_id'], unique=False)
        batch_op.create_index('ix_observation_lookup', ['indicator_id', 'country', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_observation_snapshot_id'), ['snapshot_id'], unique=False)

    for name, sql in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {sql}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    with op.batch_alter_table('observation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observation_snapshot_id'))
        batch_op.drop_index('ix_observation_lookup')
        batch_op.drop_index(batch_op.f('ix_observation_fetch_run_id'))

    op.drop_table('observation')
    with op.batch_alter_table('raw_payload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_raw_payload_source_id'))

    op.drop_table('raw_payload')
    op.drop_table('indicator_source')
    with op.batch_alter_table('forecast', schema=None) as batch_op:
        batch_op.drop_index('ix_forecast_subject')
        batch_op.drop_index(batch_op.f('ix_forecast_run_id'))

    op.drop_table('forecast')
    with op.batch_alter_table('crossover', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crossover_subject'))
        batch_op.drop_index(batch_op.f('ix_crossover_run_id'))

    op.drop_table('crossover')
    op.drop_table('source')
    op.drop_table('indicator')
    with op.batch_alter_table('forecast_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forecast_run_created_at'))

    op.drop_table('forecast_run')
    with op.batch_alter_table('fetch_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fetch_run_source_id'))

    op.drop_table('fetch_run')
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_value_kind'))
        batch_op.drop_index(batch_op.f('ix_evidence_indicator'))

    op.drop_table('evidence')
    with op.batch_alter_table('dimension_score', schema=None) as batch_op:
        batch_op.drop_index('ix_dimension_score_latest')
        batch_op.drop_index(batch_op.f('ix_dimension_score_build_id'))

    op.drop_table('dimension_score')
