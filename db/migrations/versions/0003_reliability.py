"""reliability: value rules as CHECK constraints, running fetch runs with heartbeats, job locks, payloads on disk

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

- observation: CHECK constraints `unit_range` (no negative counts or money, percentages 0–100, shares 0–1: the ranges of
  contracts.units at this revision), `year_range` (1800–2200) and `text_bounds` (the column lengths, which SQLite does
  not enforce by itself). Rows that break them were accepted before validation existed: the upgrade refuses while any
  exist, naming them, unless it is told to drop them (`aitrack db upgrade --drop-invalid`);
- user indicators without a single observation (left by an import interrupted before 0003, when indicators were
  registered in a transaction of their own) are removed;
- fetch_run: `heartbeat_at`, `host`, `pid`, CHECK on `status`; a run still `running` at upgrade time was interrupted
  and becomes `failed`;
- raw_payload: `content` may be NULL when `storage_path` names the file on disk (an analyst's file, kept by hash),
  CHECK that one of them is set;
- job_lock: who holds the database-wide job lock (on SQLite the row is the lock).

The CHECK texts are frozen here as they are at this revision; a later change of a unit's range gets its own migration.
Views are unchanged (they are dropped and recreated around the table rebuilds SQLite needs).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from db.views import VIEWS_BY_REVISION, create_views, drop_views

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

VIEWS = VIEWS_BY_REVISION["0002"]

UNIT_RANGE = (
    "(unit NOT IN ('count', 'people', 'usd', 'usd_ppp', 'usd_const', 'usd_million', 'usd_ppp_million', 'per_million', "
    "'pct', 'pct_gdp', 'share') OR value >= 0) AND (unit NOT IN ('share') OR value <= 1) "
    "AND (unit NOT IN ('pct', 'pct_gdp') OR value <= 100)"
)
YEAR_RANGE = "year BETWEEN 1800 AND 2200 AND year_start >= 1800"
TEXT_BOUNDS = "length(country) = 3 AND length(unit) <= 40 AND length(source_series) <= 300 AND length(vintage) <= 40"
OBSERVATION_CHECKS = {"unit_range": UNIT_RANGE, "year_range": YEAR_RANGE, "text_bounds": TEXT_BOUNDS}
FETCH_RUN_STATUS = "status IN ('running', 'ok', 'empty', 'failed')"
PAYLOAD_STORED = "content IS NOT NULL OR storage_path IS NOT NULL"


def _attributes() -> dict:
    return op.get_context().config.attributes if op.get_context().config is not None else {}


def _invalid_observations(conn) -> tuple[int, list[str]]:
    rule = " AND ".join(f"({check})" for check in OBSERVATION_CHECKS.values())
    # NOT (rule) is NULL-safe here: every column in the rules is NOT NULL.
    count = conn.execute(sa.text(f"SELECT count(*) FROM observation WHERE NOT ({rule})")).scalar_one()
    examples = conn.execute(sa.text(
        f"SELECT indicator_id, country, year, value, unit, source_id FROM observation WHERE NOT ({rule}) "
        "ORDER BY id LIMIT 3"
    )).all()  # fmt: skip
    return count, [f"{i} {c} {y} value {v:g} {u} (source {s})" for i, c, y, v, u, s in examples]


def upgrade() -> None:
    from db.migrate import MigrationRefused

    conn = op.get_bind()
    count, examples = _invalid_observations(conn)
    if count:
        if not _attributes().get("drop_invalid"):
            raise MigrationRefused(
                f"revision 0003 adds value rules that {count} stored observation(s) break, e.g. {'; '.join(examples)}; "
                "run `aitrack db upgrade --drop-invalid` to delete them (a backup is taken first on SQLite)"
            )
        rule = " AND ".join(f"({check})" for check in OBSERVATION_CHECKS.values())
        op.execute(f"DELETE FROM observation WHERE NOT ({rule})")
    op.execute(
        "DELETE FROM indicator_source WHERE indicator_id IN (SELECT id FROM indicator WHERE origin = 'user' "
        "AND id NOT IN (SELECT DISTINCT indicator_id FROM observation))"
    )
    op.execute(
        "DELETE FROM indicator WHERE origin = 'user' AND id NOT IN (SELECT DISTINCT indicator_id FROM observation)"
    )

    drop_views(op.execute, VIEWS)
    with op.batch_alter_table("observation") as batch:
        for name, check in OBSERVATION_CHECKS.items():
            batch.create_check_constraint(name, check)

    op.execute(
        "UPDATE fetch_run SET status = 'failed', error = 'interrupted: still running when the database was upgraded' "
        "WHERE status NOT IN ('ok', 'empty', 'failed')"
    )
    with op.batch_alter_table("fetch_run") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.create_check_constraint("status", FETCH_RUN_STATUS)

    with op.batch_alter_table("raw_payload") as batch:
        batch.add_column(sa.Column("storage_path", sa.Text(), nullable=True))
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=True)
        batch.create_check_constraint("stored", PAYLOAD_STORED)

    op.create_table(
        "job_lock",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("job", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_started", sa.String(length=40), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_lock")),
    )
    create_views(op.execute, VIEWS)


def downgrade() -> None:
    from db.migrate import MigrationRefused

    conn = op.get_bind()
    on_disk = conn.execute(sa.text("SELECT sha256, storage_path FROM raw_payload WHERE content IS NULL")).all()
    if on_disk:
        # 0002 keeps every payload's bytes in the table: bring the files back in, or refuse.
        from pathlib import Path

        data_dir = _attributes().get("data_dir")
        missing = [p for _, p in on_disk if data_dir is None or not (Path(data_dir) / p).is_file()]
        if missing:
            raise MigrationRefused(
                f"downgrade below 0003 needs the {len(on_disk)} payload file(s) kept on disk back in the table, "
                f"but {len(missing)} are not under the data directory (first: {missing[0]})"
            )
        for sha, path in on_disk:
            conn.execute(sa.text("UPDATE raw_payload SET content = :c WHERE sha256 = :s"),
                         {"c": (Path(data_dir) / path).read_bytes(), "s": sha})  # fmt: skip

    drop_views(op.execute, VIEWS)
    op.drop_table("job_lock")
    with op.batch_alter_table("raw_payload") as batch:
        batch.drop_constraint("stored", type_="check")
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("storage_path")
    with op.batch_alter_table("fetch_run") as batch:
        batch.drop_constraint("status", type_="check")
        batch.drop_column("pid")
        batch.drop_column("host")
        batch.drop_column("heartbeat_at")
    with op.batch_alter_table("observation") as batch:
        for name in OBSERVATION_CHECKS:
            batch.drop_constraint(name, type_="check")
    create_views(op.execute, VIEWS)
