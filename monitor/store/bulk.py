"""Loading a large history at once (bench/history.py): the rows save_document would write, in
one transaction with the full-text triggers off and the index rebuilt after."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlite_utils import Database

from monitor.store.documents import index_change
from monitor.store.schema import fill_change_topics, fill_latest_mentions

# (version_id, document_id, concept, variant, excerpt, sentence_start, sentence_end, position,
#  length, reason, counted, facets): a row of mentions, as documents._insert_version writes it
MentionRow = tuple[Any, ...]


def begin(db: Database) -> list[str]:
    """Drop the triggers that keep versions_fts in step (returned, to put back with `finish`)
    and open one transaction without a journal: a crash while loading leaves a file to delete,
    not a history."""
    triggers = [
        r[0]
        for r in db.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'versions'"
        )
    ]
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'versions'"
    ).fetchall():
        db.execute(f"DROP TRIGGER [{name}]")
    db.execute("PRAGMA journal_mode=off")
    db.execute("PRAGMA synchronous=off")
    db.execute("PRAGMA cache_size=-1000000")
    db.conn.execute("BEGIN")
    return triggers


def add_document(db: Database, row: Sequence[Any]) -> None:
    """(id, url, link, source, kind, title, published_at, first_seen_at, last_checked_at)."""
    db.conn.execute(
        "INSERT INTO documents (id, url, link, source, kind, title, published_at, "
        "first_seen_at, last_checked_at) VALUES (?,?,?,?,?,?,?,?,?)",
        row,
    )


def add_version(
    db: Database,
    row: Sequence[Any],
    mentions: Iterable[MentionRow],
    counts: Iterable[Sequence[Any]],
) -> None:
    """A version (id, document_id, fetched_at, content_hash, title, text, words, method), its
    mention rows and its mention_counts rows (version_id, document_id, concept, reason,
    counted, mentions, stored)."""
    db.conn.execute(
        "INSERT INTO versions (id, document_id, fetched_at, content_hash, title, text, words, "
        "method) VALUES (?,?,?,?,?,?,?,?)",
        row,
    )
    db.conn.executemany(
        "INSERT INTO mentions (version_id, document_id, concept, variant, excerpt, "
        "sentence_start, sentence_end, position, length, reason, counted, facets) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        mentions,
    )
    db.conn.executemany(
        "INSERT INTO mention_counts (version_id, document_id, concept, reason, counted, "
        "mentions, stored) VALUES (?,?,?,?,?,?,?)",
        counts,
    )


def add_change(db: Database, row: Sequence[Any], comparison: dict[str, Any], text: str) -> None:
    """A change (id, kind, document_id, version_id, old_version_id, detected_at, significance,
    verdict), its comparison (`text`, the JSON of `comparison`) and its index rows."""
    db.conn.execute(
        "INSERT INTO changes (id, kind, document_id, version_id, old_version_id, detected_at, "
        "significance, verdict, comparison) VALUES (?,?,?,?,?,?,?,?,?)",
        [*row, text],
    )
    index_change(db, int(row[0]), comparison)


def finish(db: Database, triggers: Sequence[str]) -> None:
    """Rewrite change_topics and latest_mentions from the rows loaded, commit, rebuild
    versions_fts from versions, put the triggers back and return to WAL, as open_db leaves a
    database."""
    fill_change_topics(db)
    fill_latest_mentions(db)
    db.conn.execute("COMMIT")
    db.execute("INSERT INTO versions_fts (versions_fts) VALUES ('rebuild')")
    for sql in triggers:
        db.execute(sql)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("PRAGMA synchronous=normal")


def remove_documents(db: Database, prefix: str) -> None:
    """Delete the documents whose URL starts with `prefix`, with their versions, mentions and
    changes (the benchmark's stored samples)."""
    documents = "SELECT id FROM documents WHERE url >= ? AND url < ?"
    bounds = [prefix, prefix + "\uffff"]
    with db.conn:
        changes = f"SELECT id FROM changes WHERE document_id IN ({documents})"
        for table in ("change_concepts", "change_qualifiers", "change_moves", "change_topics"):
            db.execute(f"DELETE FROM {table} WHERE change_id IN ({changes})", bounds)
        for table in ("changes", "mentions", "mention_counts", "latest_mentions", "versions"):
            db.execute(f"DELETE FROM {table} WHERE document_id IN ({documents})", bounds)
        db.execute(f"DELETE FROM documents WHERE id IN ({documents})", bounds)
