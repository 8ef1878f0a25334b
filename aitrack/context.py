"""Settings → the objects commands need (engine, reader, writer), built once per command."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import Engine, inspect

from aitrack.errors import DatabaseError
from aitrack.settings import Settings
from contracts.redaction import Scrubber
from db import migrate
from db.read import Reader
from db.session import DatabaseUnavailable, make_engine
from db.views import CURRENT_VIEWS
from db.write import Writer


@dataclass
class AppContext:
    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        try:
            return make_engine(self.settings.resolved_database_url)
        except DatabaseUnavailable as exc:
            raise DatabaseError(str(exc)) from None

    @cached_property
    def scrubber(self) -> Scrubber:
        return Scrubber(self.settings.secret_values())

    @cached_property
    def reader(self) -> Reader:
        return Reader(self.engine)

    @cached_property
    def writer(self) -> Writer:
        return Writer(self.engine, scrubber=self.scrubber)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def backup_dir(self) -> Path:
        return self.settings.data_dir / "backups"

    def current_revision(self) -> str | None:
        """The database's revision; a one-line DatabaseError when a newer aitrack migrated it."""
        try:
            return migrate.check_not_newer(self.engine)
        except migrate.SchemaNewerError as exc:
            raise DatabaseError(str(exc)) from None

    def upgrade_database(self, *, backup: bool = True, drop_invalid: bool = False) -> tuple[str | None, str | None, Path | None]:
        """Migrate to head; on SQLite a backup of a non-empty database is taken first. (before, after, backup path)."""
        before = self.current_revision()
        head = migrate.head_revision(self.engine)
        copy = None
        if backup and self.is_sqlite and before is not None and before != head:
            copy = migrate.backup_sqlite(self.engine, self.backup_dir(), label=f"before-{head}")
        try:
            migrate.upgrade(self.engine, drop_invalid=drop_invalid)
        except migrate.MigrationRefused as exc:
            raise DatabaseError(str(exc)) from None
        return before, migrate.current_revision(self.engine), copy

    def require_schema(self) -> Reader:
        """The reader, or a clear error if the database is not at head (older, newer, or missing a view)."""
        current = self.current_revision()
        head = migrate.head_revision(self.engine)
        if current != head:
            raise DatabaseError(
                f"database schema is at {current or 'nothing (empty database)'}, expected {head}: run `aitrack db upgrade`"
            )
        missing = sorted(set(CURRENT_VIEWS) - set(inspect(self.engine).get_view_names()))
        if missing:
            raise DatabaseError(
                f"database drift: view(s) {', '.join(missing)} missing: run `aitrack db upgrade` (recreates the views)"
            )
        return self.reader
