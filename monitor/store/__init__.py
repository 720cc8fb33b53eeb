"""The SQLite history: schema, migrations and every query. No other module writes SQL.

`schema` holds the tables and migrations, `documents` a document's write and the reads ingest
needs, `poll_state` the poll's bookkeeping (sources, fetches, validators, owed entries),
`fulltext` full-text search (its words: `search_words`, snippets: `snippets`), `timeline`
mentions over time, `queries` the other reads people run through the command line.
"""

from monitor.store.bodies import body_hash, load_body, pack
from monitor.store.database import (
    iso,
    now,
    open_db,
    open_read_only,
    opened,
    transaction,
)
from monitor.store.documents import (
    is_placed,
    raw_body,
    recent_versions,
    save_document,
    series_members,
    series_of_document,
)
from monitor.store.events import read_event
from monitor.store.faults import describe
from monitor.store.fulltext import fts_query, search
from monitor.store.outbox import (
    claim,
    defer,
    due,
    enqueue,
    freeze,
    has_message,
    mark_failed,
    mark_sent,
)
from monitor.store.poll_state import (
    entry_states,
    fetch_state,
    give_up_article,
    owed_entries,
    page_placement,
    page_unchanged,
    record_attempts,
    save_validators,
    source_failed,
    source_succeeded,
    source_warning,
    sync_sources,
    validators,
)
from monitor.store.queries import (
    articles_between,
    changes_between,
    concept_summary,
    history,
    list_changes,
    source_health,
)
from monitor.store.schema import migrations
from monitor.store.service import (
    beat,
    check_writable,
    heartbeat,
    job_finished,
    job_started,
    last_success,
    monitoring_since,
)
from monitor.store.timeline import concept_days, mention_dates

__all__ = [
    "articles_between",
    "beat",
    "body_hash",
    "changes_between",
    "check_writable",
    "claim",
    "concept_days",
    "concept_summary",
    "defer",
    "describe",
    "due",
    "enqueue",
    "entry_states",
    "fetch_state",
    "freeze",
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
    "load_body",
    "mark_failed",
    "mark_sent",
    "mention_dates",
    "migrations",
    "monitoring_since",
    "now",
    "open_db",
    "open_read_only",
    "opened",
    "owed_entries",
    "pack",
    "page_placement",
    "page_unchanged",
    "raw_body",
    "read_event",
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
    "source_warning",
    "sync_sources",
    "transaction",
    "validators",
]
