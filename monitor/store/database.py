"""Opening the database (WAL, busy timeout, migrations) and its transactions; times as stored
(UTC ISO-8601)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.faults import describe
from monitor.store.schema import migrations


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction, taken with BEGIN IMMEDIATE: the write lock is waited for up front
    (busy_timeout), instead of failing at once with "database is locked" when a read inside a
    deferred transaction must become a write after another connection (a parallel poll job)
    committed. Nested calls become savepoints."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def now() -> str:
    """The current time as stored: UTC ISO-8601 with seconds."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def given(first: str, filters: Mapping[str, object | None]) -> tuple[str, list[object]]:
    """A WHERE clause: `first`, then each filter's condition (one `?` each) whose value is given,
    and the values for them."""
    chosen = {condition: value for condition, value in filters.items() if value is not None}
    return " AND ".join([first, *chosen]), list(chosen.values())


def open_db(path: Path, busy_timeout: float = 10.0, *, migrate: bool = True) -> Database:
    """Open (creating if needed) the database in WAL mode and apply pending migrations (unless
    not `migrate`: the health check leaves them to the service).

    A write waits up to `busy_timeout` seconds for another connection's write lock."""
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path, execute_plugins=False)
    db.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
    db.execute("PRAGMA journal_mode=wal")
    # In WAL mode NORMAL is still crash-safe (a killed process loses nothing committed); it only
    # skips the fsync per commit, which otherwise dominates one-transaction-per-document writes.
    db.execute("PRAGMA synchronous=normal")
    db.execute("PRAGMA foreign_keys=on")
    if migrate:
        migrations.apply(db)
    return db


def open_read_only(path: Path, busy_timeout: float = 10.0) -> Database:
    """Open an existing database for reading only (SQLite URI `mode=ro`): no migration runs and
    no file or folder is created for a database that is not there. A database that is missing,
    or older than this code (pending migrations), is a StoreError naming the file and the fix."""
    if not path.exists():
        raise StoreError(
            f"{path}: no database here; run `monitor once` (or `monitor demo`) to create one, "
            "or pass --db PATH (or set MONITOR_DB) to an existing one"
        )
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db = Database(conn, execute_plugins=False)
    try:
        db.execute(f"PRAGMA busy_timeout={round(busy_timeout * 1000)}")
        pending = migrations.pending(db)
    except BaseException:
        db.close()
        raise
    if pending:
        db.close()
        raise StoreError(
            f"{path}: the database is older than this monitor ({len(pending)} migration(s) "
            "pending) and this command only reads it; run a writing command first "
            "(`monitor once` or `monitor init`), which updates it"
        )
    return db


@contextmanager
def opened(
    path: Path, busy_timeout: float = 10.0, *, read_only: bool = False, migrate: bool = True
) -> Iterator[Database]:
    """The database, open for a `with` block, closed after it; a failure of the file or its
    disk (read-only, locked, full) inside the block becomes a one-line StoreError. With
    `read_only`, it is opened as open_read_only does; without `migrate`, as it is."""
    try:
        db = (
            open_read_only(path, busy_timeout)
            if read_only
            else open_db(path, busy_timeout, migrate=migrate)
        )
    except (sqlite3.Error, OSError) as exc:
        raise describe(exc, path, busy_timeout) from None
    try:
        yield db
    except sqlite3.Error as exc:
        raise describe(exc, path, busy_timeout) from None
    finally:
        with suppress(sqlite3.Error):
            db.close()
