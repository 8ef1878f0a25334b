"""Settings → the objects commands need (engine, reader, writer), built once per command."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy import Engine

from aitrack.errors import DatabaseError
from aitrack.settings import Settings
from db import migrate
from db.read import Reader
from db.session import DatabaseUnavailable, make_engine
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
    def reader(self) -> Reader:
        return Reader(self.engine)

    @cached_property
    def writer(self) -> Writer:
        return Writer(self.engine)

    def upgrade_database(self) -> tuple[str | None, str | None]:
        before = migrate.current_revision(self.engine)
        migrate.upgrade(self.engine)
        return before, migrate.current_revision(self.engine)

    def require_schema(self) -> Reader:
        """The reader, or a clear error if the database has not been migrated to head."""
        current = migrate.current_revision(self.engine)
        head = migrate.head_revision(self.engine)
        if current != head:
            raise DatabaseError(
                f"database schema is at {current or 'nothing (empty database)'}, expected {head}: run `aitrack db upgrade`"
            )
        return self.reader
