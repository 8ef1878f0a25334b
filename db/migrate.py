"""Alembic driven from code: an Engine in, the schema at head (or a drift report, a refusal, a backup) out."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from db.models import Base
from db.views import CURRENT_VIEWS, create_views, drop_views

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class MigrationRefused(Exception):
    """A migration cannot run on this database as it is (data that breaks a new rule, files it needs); one line."""


class SchemaNewerError(Exception):
    """The database was migrated by a newer aitrack than this one: nothing here may touch it."""


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


def _script(engine: Engine) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(engine))


def known_revisions(engine: Engine) -> list[str]:
    return [rev.revision for rev in _script(engine).walk_revisions()]


def check_not_newer(engine: Engine) -> str | None:
    """The database's revision; SchemaNewerError (one line, both versions) when this code does not know it."""
    current = current_revision(engine)
    if current is not None and current not in known_revisions(engine):
        raise SchemaNewerError(
            f"database schema is at revision {current}, newer than this aitrack knows (its newest is "
            f"{head_revision(engine)}): upgrade aitrack, or restore a backup taken before that upgrade"
        )
    return current


def _run(engine: Engine, action, revision: str, attributes: dict) -> None:
    """Run an Alembic command in one transaction. On SQLite, foreign keys are off while it runs (batch mode rebuilds a
    table by copy, drop and rename, and dropping a referenced table would fail), then checked before the commit."""
    config = alembic_config(engine)
    sqlite_db = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite_db:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # only outside a transaction does this take effect
            connection.commit()
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                config.attributes.update(attributes)
                action(config, revision)
                if sqlite_db:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise MigrationRefused(f"the migration would leave {len(broken)} row(s) referring to nothing "
                                               f"(first: table {broken[0][0]}, row {broken[0][1]})")  # fmt: skip
        finally:
            if sqlite_db:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def upgrade(engine: Engine, revision: str = "head", *, drop_invalid: bool = False) -> None:
    """Migrate up; `drop_invalid` lets a revision delete stored rows that break a rule it adds (0003)."""
    check_not_newer(engine)
    _run(engine, command.upgrade, revision, {"drop_invalid": drop_invalid})


def downgrade(engine: Engine, revision: str = "base", *, data_dir: Path | None = None) -> None:
    """Migrate down; `data_dir` holds payload files a revision below 0003 needs back in the table."""
    check_not_newer(engine)
    _run(engine, command.downgrade, revision, {"data_dir": str(data_dir) if data_dir else None})


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return _script(engine).get_current_head()


# -- drift ---------------------------------------------------------------------------------------------------------


def schema_drift(engine: Engine) -> list:
    """Differences between the models and the migrated database (empty = no drift), as Alembic reports them."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
        return compare_metadata(context, Base.metadata)


def _describe_diff(diff) -> str:
    if isinstance(diff, list):  # modify_* entries come grouped per column
        return "; ".join(_describe_diff(d) for d in diff)
    kind = diff[0]
    if kind.startswith("modify"):  # (kind, schema, table, column, info, existing, new)
        return f"{kind.replace('_', ' ')} of {diff[2]}.{diff[3]}: database {diff[5]!r}, models {diff[6]!r}"
    action, _, what = kind.partition("_")
    if what == "column":  # (kind, schema, table, Column)
        name = f"{diff[2]}.{diff[3].name}"
    else:
        subject = diff[1]
        table = getattr(getattr(subject, "table", None), "name", None)
        own = getattr(subject, "name", None) or str(subject)
        name = f"{table}.{own}" if table and table != own else own
    if action == "add":
        return f"the database lacks {what} {name} (the models have it)"
    return f"the database has {what} {name}, which the models do not"


def _view_columns(connection, relation: str) -> list[str]:
    return list(connection.execute(text(f"SELECT * FROM {relation} LIMIT 0")).keys())


def view_drift(engine: Engine) -> list[str]:
    """Views the head revision expects that are missing, or whose columns are not the expected ones."""
    present = set(inspect(engine).get_view_names())
    problems = []
    with engine.connect() as connection:
        for name, body in CURRENT_VIEWS.items():
            if name not in present:
                problems.append(f"view {name} is missing")
                continue
            expected = _view_columns(connection, f"({body}) expected_")
            if _view_columns(connection, name) != expected:
                problems.append(f"view {name} has columns other than the expected {', '.join(expected)}")
    return problems


def check_constraint_drift(engine: Engine) -> list[str]:
    """CHECK constraints of the models missing from the live tables (Alembic's comparison does not look at them)."""
    inspector = inspect(engine)
    problems = []
    tables = set(inspector.get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in tables:
            continue
        expected = {c.name for c in table.constraints if c.__class__.__name__ == "CheckConstraint" and c.name}
        live = {c["name"] for c in inspector.get_check_constraints(table.name)}
        for name in sorted(str(n) for n in expected - live):
            problems.append(f"check constraint {name} is missing on {table.name}")
    return problems


def drift_report(engine: Engine) -> list[str]:
    """Every difference between what this code expects and the live schema, one readable line each (empty = none)."""
    current = check_not_newer(engine)
    head = head_revision(engine)
    if current != head:
        return [f"schema is at revision {current or 'nothing (empty database)'}, expected {head}: run `aitrack db upgrade`"]
    lines = [_describe_diff(d) for d in schema_drift(engine)]
    return lines + check_constraint_drift(engine) + view_drift(engine)


def recreate_views(engine: Engine) -> None:
    """Drop and create the head revision's views (they hold no data: safe whenever the tables are at head)."""
    with engine.begin() as connection:
        drop_views(connection.exec_driver_sql, CURRENT_VIEWS)
        create_views(connection.exec_driver_sql, CURRENT_VIEWS)


# -- backups -------------------------------------------------------------------------------------------------------


def backup_sqlite(engine: Engine, directory: Path, *, label: str = "") -> Path:
    """A consistent copy of an SQLite database (sqlite3's online backup: safe while others read or write)."""
    if engine.dialect.name != "sqlite":
        raise ValueError("backup_sqlite needs an SQLite database; use pg_dump for PostgreSQL")
    directory.mkdir(parents=True, exist_ok=True)
    revision = current_revision(engine) or "empty"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    target = directory / f"aitrack-{revision}-{stamp}{('-' + label) if label else ''}.db"
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        with sqlite3.connect(target) as copy:
            source.backup(copy)
        copy.close()
    finally:
        raw.close()
    return target
