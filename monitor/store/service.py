"""The service's own state: when each job last ran and succeeded, and the heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from monitor.store.database import now, transaction


def job_started(db: Database, name: str) -> None:
    db.execute(
        "INSERT INTO jobs (name, last_started_at) VALUES (?, ?) "
        "ON CONFLICT(name) DO UPDATE SET last_started_at = excluded.last_started_at",
        [name, now()],
    )


def job_finished(db: Database, name: str, error: str | None = None) -> None:
    """Record how a job run ended; only a success moves `last_success_at`."""
    db.execute(
        "UPDATE jobs SET last_error = ?, "
        "last_success_at = CASE WHEN ? IS NULL THEN ? ELSE last_success_at END WHERE name = ?",
        [error, error, now(), name],
    )


def last_success(db: Database, name: str) -> datetime | None:
    row = db.execute("SELECT last_success_at FROM jobs WHERE name = ?", [name]).fetchone()
    return datetime.fromisoformat(row[0]) if row and row[0] else None


def beat(db: Database, pid: int, started_at: str) -> None:
    db.execute(
        "INSERT INTO heartbeat (id, pid, started_at, beat_at) VALUES (1, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, started_at = excluded.started_at, "
        "beat_at = excluded.beat_at",
        [pid, started_at, now()],
    )


def heartbeat(db: Database) -> tuple[int, datetime] | None:
    """The running service's pid and last beat, if it ever ran."""
    row = db.execute("SELECT pid, beat_at FROM heartbeat WHERE id = 1").fetchone()
    return (int(row[0]), datetime.fromisoformat(row[1])) if row else None


def check_writable(db: Database) -> None:
    """Write and roll back, so a read-only file or a stuck lock shows (raises)."""
    with transaction(db):
        db.execute("UPDATE heartbeat SET beat_at = beat_at WHERE id = 1")


def monitoring_since(db: Database) -> datetime | None:
    """When this database began to be monitored: the start of its first recorded fetch (the
    first row of `fetches`, which is never pruned), or None before any poll fetched anything."""
    row = db.execute("SELECT started_at FROM fetches ORDER BY id LIMIT 1").fetchone()
    return datetime.fromisoformat(row[0]) if row else None
