"""Bulk observation ingest on PostgreSQL: a validated frame COPYed into a temporary staging table, classified against
what is stored by one set-based query, and appended by one INSERT … SELECT … ON CONFLICT DO NOTHING.

The rules are `Writer._write_observations`' (db/write.py) and `db/vintages.py`'s, row for row:
- a key (indicator, country, year, source) this fetch run already stored is an error (ObservationFrameError);
- a value already stored under its vintage, or under a same-day revision of it, is unchanged;
- a different value under a stored vintage is a revision: vintage `<vintage>#<digest of value>` (computed here in
  Python by `revision_vintage`, for the few rows that need it);
- otherwise a value equal to the key's latest stored one (latest = greatest vintage, bytewise, then id) is
  unchanged, a different one is a revision under its own vintage, and a key never stored is added.
Every row is judged against what was stored before the call, as on the row-by-row path. The staging tables live
in the caller's transaction (ON COMMIT DROP): any failure — a row COPY refuses, a constraint the INSERT breaks —
rolls back with it and leaves nothing behind.
"""

from __future__ import annotations

import polars as pl
from psycopg import errors, sql
from sqlalchemy.engine import Connection

from contracts.observations import NATURAL_KEY, ObservationFrameError
from db.vintages import VALUE_REL_TOL, revision_vintage

STAGE = "_observation_stage"
PLAN = "_observation_plan"
REVISIONS = "_observation_revision"
# Rows per block of CSV text handed to COPY (bounds the memory of one block at ~100 MB for 1M rows).
COPY_BLOCK_ROWS = 200_000
# Memory for the sorts and hashes of one bulk write (a 1M-row frame's classification fits in it).
WORK_MEM = "256MB"
# A frame of at least this many rows is appended with `observation`'s foreign keys dropped and re-added, validated,
# in the same transaction (PostgreSQL's "Populating a Database": one set-based check per key instead of a trigger
# call per row per key; half the INSERT of a million rows). The price: the ALTER TABLE locks `observation` and the
# tables it references against readers until the ingest commits. Below it, the keys' triggers check every row.
BULK_FOREIGN_KEY_ROWS = 100_000
# How long the bulk path waits for those locks (readers in flight) before it gives up and appends with the keys'
# triggers instead; a deadlock with a reader ends the same way. Either way the ingest goes on.
BULK_LOCK_TIMEOUT = "2s"
# Frame column → observation column, in COPY order.
COLUMNS: dict[str, str] = {
    "indicator": "indicator_id", "country": "country", "year": "year", "year_start": "year_start",
    "value": "value", "unit": "unit", "value_kind": "value_kind", "source": "source_id",
    "source_series": "source_series", "retrieved_at": "retrieved_at", "vintage": "vintage",
    "snapshot_id": "snapshot_id",
}  # fmt: skip
_KEY = ("indicator_id", "country", "year", "source_id")
_TYPES = {"year": "integer", "year_start": "integer", "value": "double precision", "retrieved_at": "timestamptz"}


def _isclose(a: str, b: str) -> str:
    """SQL for math.isclose(a, b, rel_tol=VALUE_REL_TOL, abs_tol=0) on float8 (the same IEEE arithmetic)."""
    return f"(abs({a} - {b}) <= {VALUE_REL_TOL!r}::float8 * greatest(abs({a}), abs({b})))"


def _create_stage(cursor) -> None:
    columns = ", ".join(f"{c} {_TYPES.get(c, 'text')}" for c in COLUMNS.values())
    for table in (STAGE, PLAN, REVISIONS):
        cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    # The sorts and hash tables of one bulk write stay in memory (this transaction only).
    cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    cursor.execute(f"CREATE TEMP TABLE {STAGE} (ord bigint, {columns}) ON COMMIT DROP")


def _copy_frame(cursor, frame: pl.DataFrame) -> None:
    """The frame into the staging table through COPY … FROM STDIN (CSV: polars writes floats round-trip exact, an
    empty string quoted and a null as nothing)."""
    staged = frame.select(list(COLUMNS)).with_row_index("ord")
    target = ", ".join(("ord", *COLUMNS.values()))
    with cursor.copy(f"COPY {STAGE} ({target}) FROM STDIN WITH (FORMAT csv)") as copy:
        for offset in range(0, staged.height, COPY_BLOCK_ROWS):
            copy.write(staged.slice(offset, COPY_BLOCK_ROWS).write_csv(include_header=False))


def _classify(cursor, fetch_run_id: int | None) -> None:
    """One row per staged row: its action (add | revise | revise_same_vintage | unchanged) and whether this run
    already stored its key. Keys never stored are added without aggregating anything (a first load is all of them);
    the others are judged on every stored vintage of their key."""
    on_key = " AND ".join(f"o.{c} = s.{c}" for c in _KEY)
    cursor.execute(f"ANALYZE {STAGE}")
    cursor.execute(
        f"""
        CREATE TEMP TABLE {PLAN} ON COMMIT DROP AS
        SELECT s.ord, false AS this_run, 'add'::text AS action FROM {STAGE} s
        WHERE NOT EXISTS (SELECT 1 FROM observation o WHERE {on_key})
        """
    )  # fmt: skip
    cursor.execute(
        f"""
        INSERT INTO {PLAN} (ord, this_run, action)
        WITH stored AS (
            SELECT s.ord, s.value,
                   coalesce(bool_or(o.fetch_run_id = %(run)s::bigint), false) AS this_run,
                   bool_or(o.vintage = s.vintage) AS same_vintage,
                   coalesce(bool_or(split_part(o.vintage, '#', 1) = s.vintage AND {_isclose('o.value', 's.value')}),
                            false) AS family_equal,
                   (array_agg(o.value ORDER BY o.vintage COLLATE "C" DESC, o.id DESC))[1] AS latest_value
            FROM {STAGE} s JOIN observation o ON {on_key}
            GROUP BY s.ord, s.value
        )
        SELECT ord, this_run,
               CASE WHEN same_vintage AND family_equal THEN 'unchanged'
                    WHEN same_vintage THEN 'revise_same_vintage'
                    WHEN {_isclose('latest_value', 'value')} THEN 'unchanged'
                    ELSE 'revise' END
        FROM stored
        """,
        {"run": fetch_run_id},
    )  # fmt: skip


def _refuse_this_run(cursor) -> None:
    cursor.execute(
        f"SELECT s.indicator_id, s.country, s.year, s.source_id, s.vintage FROM {PLAN} p JOIN {STAGE} s USING (ord) "
        "WHERE p.this_run ORDER BY s.ord LIMIT 1"
    )
    row = cursor.fetchone()
    if row is not None:
        raise ObservationFrameError(
            "observations repeat a key already stored by this run: "
            + ", ".join(f"{k}={v}" for k, v in zip(NATURAL_KEY, row))
        )


def _name_same_day_revisions(cursor) -> None:
    """A different value under a stored vintage gets `revision_vintage` (Python's repr of the float, hashed)."""
    cursor.execute(
        f"SELECT s.ord, s.vintage, s.value FROM {PLAN} p JOIN {STAGE} s USING (ord) "
        "WHERE p.action = 'revise_same_vintage'"
    )
    revised = [(ord_, revision_vintage(vintage, value)) for ord_, vintage, value in cursor.fetchall()]
    if not revised:
        return
    cursor.execute(f"CREATE TEMP TABLE {REVISIONS} (ord bigint PRIMARY KEY, vintage text) ON COMMIT DROP")
    with cursor.copy(f"COPY {REVISIONS} (ord, vintage) FROM STDIN") as copy:
        for row in revised:
            copy.write_row(row)
    cursor.execute(f"UPDATE {STAGE} s SET vintage = r.vintage FROM {REVISIONS} r WHERE r.ord = s.ord")


def _insert(cursor, fetch_run_id: int | None) -> tuple[int, int]:
    """Append the added rows, then the revised ones, each in frame order; (added, revised) that the table took (a
    row another process stored meanwhile is skipped by ON CONFLICT and counts as unchanged)."""
    columns = ", ".join(COLUMNS.values())
    selected = ", ".join(f"s.{c}" for c in COLUMNS.values())
    key = ", ".join((*_KEY, "vintage"))
    counts = []
    for actions in ("'add'", "'revise', 'revise_same_vintage'"):
        cursor.execute(
            f"""
            INSERT INTO observation ({columns}, fetch_run_id)
            SELECT {selected}, %(run)s::bigint FROM {STAGE} s JOIN {PLAN} p USING (ord)
            WHERE p.action IN ({actions}) ORDER BY s.ord
            ON CONFLICT ({key}) DO NOTHING
            """,
            {"run": fetch_run_id},
        )  # fmt: skip
        counts.append(max(cursor.rowcount, 0))
    return counts[0], counts[1]


def _foreign_keys(cursor) -> list[tuple[str, str]]:
    """`observation`'s foreign keys: (name, definition as PostgreSQL prints it)."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'observation'::regclass AND contype = 'f' ORDER BY conname"
    )
    return [(name, definition) for name, definition in cursor.fetchall()]


def _insert_without_key_triggers(cursor, fetch_run_id: int | None, lock_timeout: str) -> tuple[int, int] | None:
    """`_insert` with the foreign keys dropped first and re-added (and so validated against every row) after; a row
    whose key has no target fails the re-add, and the whole transaction with it. None, with nothing changed, when
    the ALTER TABLE could not have its locks within `lock_timeout` (or deadlocked with a reader)."""
    keys = _foreign_keys(cursor)
    cursor.execute("SAVEPOINT bulk_foreign_keys")
    cursor.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(lock_timeout)))
    try:
        for name, _ in keys:
            cursor.execute(sql.SQL("ALTER TABLE observation DROP CONSTRAINT {}").format(sql.Identifier(name)))
    except (errors.LockNotAvailable, errors.DeadlockDetected):
        cursor.execute("ROLLBACK TO SAVEPOINT bulk_foreign_keys")
        return None
    cursor.execute("RESET lock_timeout")
    counts = _insert(cursor, fetch_run_id)
    for name, definition in keys:
        cursor.execute(sql.SQL("ALTER TABLE observation ADD CONSTRAINT {} ").format(sql.Identifier(name))
                       + sql.SQL(definition))
    cursor.execute("RELEASE SAVEPOINT bulk_foreign_keys")
    return counts


def copy_observations(conn: Connection, frame: pl.DataFrame, fetch_run_id: int | None,
                      bulk_rows: int = BULK_FOREIGN_KEY_ROWS, lock_timeout: str = BULK_LOCK_TIMEOUT
                      ) -> tuple[int, int, int]:
    """Store a validated observation frame (the contract's columns, checked by the caller) inside `conn`'s
    transaction; (added, unchanged, revised). PostgreSQL only (psycopg 3). A frame that adds `bulk_rows` rows or
    more is appended with the foreign keys dropped and re-added (BULK_FOREIGN_KEY_ROWS), unless their locks are
    not had within `lock_timeout`."""
    if frame.height == 0:
        return 0, 0, 0
    driver = conn.connection.driver_connection
    with driver.cursor() as cursor:
        _create_stage(cursor)
        _copy_frame(cursor, frame)
        _classify(cursor, fetch_run_id)
        _refuse_this_run(cursor)
        _name_same_day_revisions(cursor)
        cursor.execute(f"SELECT count(*) FROM {PLAN} WHERE action <> 'unchanged'")
        appended = cursor.fetchone()[0]
        counts = _insert_without_key_triggers(cursor, fetch_run_id, lock_timeout) if appended >= bulk_rows else None
        added, revised = counts if counts is not None else _insert(cursor, fetch_run_id)
        for table in (STAGE, PLAN, REVISIONS):
            cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
    return added, frame.height - added - revised, revised
