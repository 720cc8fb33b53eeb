"""The SQLite history: schema, migrations and every query. No other module writes SQL.

`schema` holds the tables and migrations, `documents` the writes and the reads the pipeline
needs, `queries` the reads people run through the command line.
"""

from monitor.store.documents import (
    entry_states,
    give_up_article,
    owed_entries,
    raw_body,
    recent_versions,
    record_attempts,
    save_document,
    save_validators,
    series_neighbours,
    source_failed,
    source_succeeded,
    sync_sources,
    validators,
)
from monitor.store.queries import (
    concept_summary,
    fts_query,
    history,
    list_changes,
    search,
    source_health,
)
from monitor.store.schema import iso, migrations, now, open_db

__all__ = [
    "concept_summary",
    "entry_states",
    "fts_query",
    "give_up_article",
    "history",
    "iso",
    "list_changes",
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
    "series_neighbours",
    "source_failed",
    "source_health",
    "source_succeeded",
    "sync_sources",
    "validators",
]
