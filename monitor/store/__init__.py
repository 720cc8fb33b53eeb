"""The SQLite history: schema, migrations and every query. No other module writes SQL.

`schema` holds the tables and migrations, `documents` the writes and the reads the pipeline
needs, `queries` the reads people run through the command line.
"""

from contextlib import AbstractContextManager

from sqlite_utils import Database

from monitor.store.documents import (
    entry_states,
    give_up_article,
    is_placed,
    owed_entries,
    raw_body,
    recent_versions,
    record_attempts,
    save_document,
    save_validators,
    series_members,
    series_of_document,
    source_failed,
    source_succeeded,
    sync_sources,
    validators,
)
from monitor.store.outbox import (
    claim,
    defer,
    due,
    enqueue,
    has_message,
    mark_failed,
    mark_sent,
)
from monitor.store.queries import (
    articles_between,
    changes_between,
    concept_summary,
    fts_query,
    history,
    list_changes,
    mention_dates,
    search,
    source_health,
)
from monitor.store.schema import iso, migrations, now, open_db
from monitor.store.service import (
    beat,
    check_writable,
    heartbeat,
    job_finished,
    job_started,
    last_success,
)

__all__ = [
    "articles_between",
    "beat",
    "changes_between",
    "check_writable",
    "claim",
    "concept_summary",
    "defer",
    "due",
    "enqueue",
    "entry_states",
    "fts_query",
    "give_up_article",
    "has_message",
    "heartbeat",
    "history",
    "is_placed",
    "iso",
    "job_finished",
    "job_started",
    "last_success",
    "list_changes",
    "mark_failed",
    "mark_sent",
    "mention_dates",
    "migrations",
    "now",
    "open_db",
    "owed_entries",
    "raw_body",
    "recent_versions",
    "record_attempts",
    "save_document",
    "save_validators",
    "search",
    "series_members",
    "series_of_document",
    "source_failed",
    "source_health",
    "source_succeeded",
    "sync_sources",
    "transaction",
    "validators",
]


def transaction(db: Database) -> AbstractContextManager[Database]:
    """One transaction (nested calls become savepoints)."""
    return db.atomic()
