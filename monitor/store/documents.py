"""A document's write (its version, mentions, changes and their outbox items, in one
transaction) and the reads ingest needs to compare it with its stored versions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlite_utils import Database

from monitor.analysis.text import around, excerpt, sentence_at, sentences
from monitor.models import (
    Arrival,
    Change,
    Mention,
    OutboxItem,
    Placement,
    Processed,
    Stored,
    StoredVersion,
    StoreLimits,
)
from monitor.store.bodies import load_body, save_body
from monitor.store.database import iso, now, transaction
from monitor.store.outbox import enqueue, withdraw
from monitor.store.poll_state import save_validators
from monitor.store.schema import EXCERPT, fill_change_topics, fill_latest_mentions


def save_document(
    db: Database,
    source: str,
    arrival: Arrival,
    *,
    series: str | None = None,
    changes: Sequence[Change] = (),
    validators: tuple[str, dict[str, str]] | None = None,
    alerts: Sequence[OutboxItem] = (),
    placed: bool = False,
    placement: Placement | None = None,
    limits: StoreLimits | None = None,
) -> Stored:
    """Store a document of `source` and, when its normalised text changed, a new version with
    the changes found against earlier versions and the alerts they raise: one transaction.

    `placed` records that the document was compared with its series neighbours; `placement`
    says which stored successions it now sits inside, to supersede in the same transaction;
    `limits` bound the mentions stored (Stored.limits says which were hit)."""
    url, link, kind, processed = arrival.url, arrival.link, arrival.kind, arrival.processed
    entry, content_type, final_url = arrival.entry, arrival.content_type, arrival.final_url
    failure = arrival.failure
    stamp = now()
    extracted = processed.extracted
    title = extracted.title or (entry.title if entry else None)
    published = arrival.published or (entry.published if entry and entry.published else None)
    published = published or extracted.published
    with transaction(db):
        row = db.execute("SELECT id, failures FROM documents WHERE url = ?", [url]).fetchone()
        new_document = row is None
        if row is None:
            cursor = db.execute(
                "INSERT INTO documents (url, link, source, kind, title, summary, published_at, "
                "published_raw, first_seen_at, last_checked_at, series) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    url,
                    link,
                    source,
                    kind,
                    title,
                    entry.summary if entry else None,
                    iso(published) if published else None,
                    entry.published_raw if entry else None,
                    stamp,
                    stamp,
                    series,
                ],
            )
            document_id = int(cursor.lastrowid or 0)
        else:
            document_id = int(row[0])
            db.execute(
                "UPDATE documents SET last_checked_at = ?, last_error = NULL, failures = 0, "
                "kind = ?, title = COALESCE(?, title), series = COALESCE(?, series) WHERE id = ?",
                [stamp, kind, title, series, document_id],
            )
        if failure is not None:
            db.execute(
                "UPDATE documents SET last_error = ?, failures = ? WHERE id = ?",
                [failure, (row[1] if row else 0) + 1, document_id],
            )
        if entry is not None:
            db.execute(
                "UPDATE documents SET entry_hash = ? WHERE id = ?",
                [entry.fingerprint, document_id],
            )
        if validators is not None:
            save_validators(db, *validators, processed.body_hash)
        latest = db.execute(
            "SELECT content_hash, id FROM versions WHERE document_id = ? ORDER BY id DESC LIMIT 1",
            [document_id],
        ).fetchone()
        if placed:
            db.execute("UPDATE documents SET series_placed = 1 WHERE id = ?", [document_id])
        new_version = latest is None or latest[0] != processed.normalised_hash
        if new_version:
            version_id, hit = _insert_version(
                db,
                document_id,
                stamp,
                title,
                processed,
                content_type,
                final_url,
                limits or StoreLimits(),
            )
            fill_latest_mentions(db, document_id)
        else:
            version_id, hit = int(latest[1]), None
        change_ids: list[int] = []
        if changes:
            # Imported here: the read-only commands import the store and never write a change.
            from monitor.analysis.compare import as_json
        for change in changes:
            # JSON at the edge: the column holds exactly what `monitor compare --json` prints,
            # and the index rows come from that JSON, as m009_change_index reads them.
            comparison = as_json(change.comparison)
            newer = change.new_version_id or version_id
            newer_document = db.execute(
                "SELECT document_id FROM versions WHERE id = ?", [newer]
            ).fetchone()[0]
            inserted = db.execute(
                "INSERT INTO changes (kind, document_id, version_id, old_version_id, series, "
                "detected_at, significance, verdict, comparison) VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    change.kind,
                    newer_document,
                    newer,
                    change.old_version_id or version_id,
                    change.series,
                    stamp,
                    change.significance,
                    change.verdict,
                    json.dumps(comparison, ensure_ascii=False),
                ],
            )
            change_ids.append(int(inserted.lastrowid or 0))
            index_change(db, change_ids[-1], comparison)
            fill_change_topics(db, change_ids[-1])
        if placement is not None:
            _supersede(db, placement, change_ids, stamp)
        enqueue(db, alerts, change_ids)
    mentions = len(processed.mentions) if new_version else 0
    return Stored(document_id, new_document, new_version, mentions, len(changes), hit)


def index_change(db: Database, change_id: int, comparison: dict[str, Any]) -> None:
    """A change's concepts, facets and ladder moves as rows of change_concepts,
    change_qualifiers and change_moves (as schema.m009_change_index fills them from the JSON);
    its change_topics rows follow from them (schema.fill_change_topics)."""
    for sql, rows in zip(CHANGE_INDEX, change_index_rows(comparison), strict=True):
        db.conn.executemany(sql, [(change_id, *r) for r in rows])


# the rows of a change's index, each without its leading change_id
CHANGE_INDEX = (
    "INSERT INTO change_concepts (change_id, concept, status, old_count, new_count, "
    "superseded) VALUES (?,?,?,?,?,?)",
    "INSERT INTO change_qualifiers (change_id, concept, facet, status) VALUES (?,?,?,?)",
    "INSERT INTO change_moves (change_id, ladder, old, new, move) VALUES (?,?,?,?,?)",
)


def change_index_rows(comparison: dict[str, Any]) -> tuple[list[tuple[Any, ...]], ...]:
    """A comparison's rows of change_concepts, change_qualifiers and change_moves (in the order
    of CHANGE_INDEX), without their change_id."""
    return (
        [
            (d["id"], d["status"], d["old"], d["new"], int(bool(d.get("superseded"))))
            for d in comparison.get("concepts", ())
        ],
        [(q["concept"], q["facet"], q["status"]) for q in comparison.get("qualifiers", ())],
        [(m["ladder"], m["old"], m["new"], m["move"]) for m in comparison.get("stance", ())],
    )


def _supersede(db: Database, placement: Placement, change_ids: Sequence[int], stamp: str) -> None:
    """Mark the current successions that skip over a newly placed member as superseded, and
    withdraw their alerts that are still waiting (one already delivered stays delivered)."""
    if not placement.before or not placement.after:
        return
    before = ",".join("?" * len(placement.before))
    after = ",".join("?" * len(placement.after))
    skipped = [
        int(row[0])
        for row in db.execute(
            "SELECT id FROM changes WHERE kind = 'succession' AND series = ? "
            f"AND superseded_at IS NULL AND document_id IN ({after}) AND old_version_id IN "
            f"(SELECT id FROM versions WHERE document_id IN ({before}))",
            [placement.series, *placement.after, *placement.before],
        )
    ]
    if not skipped:
        return
    by = change_ids[placement.replacement] if placement.replacement is not None else None
    marks = ",".join("?" * len(skipped))
    db.execute(
        f"UPDATE changes SET superseded_at = ?, superseded_by = ? WHERE id IN ({marks})",
        [stamp, by, *skipped],
    )
    db.execute(f"UPDATE change_topics SET current = 0 WHERE change_id IN ({marks})", skipped)
    withdraw(db, skipped)


def _insert_version(
    db: Database,
    document_id: int,
    stamp: str,
    title: str | None,
    processed: Processed,
    content_type: str | None,
    final_url: str | None,
    limits: StoreLimits,
) -> tuple[int, str | None]:
    """Insert a version and its mentions within `limits`; returns its id and the limits it hit
    (also kept in versions.limits)."""
    extracted = processed.extracted
    text = extracted.text
    if processed.raw is not None and processed.body_hash is not None:
        save_body(db, processed.body_hash, processed.raw, processed.raw_bytes or 0, document_id)
    values = {
        "document_id": document_id,
        "fetched_at": stamp,
        "content_hash": processed.normalised_hash,
        "title": title,
        "text": text,
        "words": len(text.split()),
        "method": extracted.method,
        "content_type": content_type,
        "final_url": final_url,
        "raw_bytes": processed.raw_bytes,
    }
    if processed.raw is not None:  # named only when set, so feed text also fits a database
        values["body_hash"] = processed.body_hash  # that a migration test stopped early
    cursor = db.execute(
        f"INSERT INTO versions ({', '.join(values)}) VALUES ({','.join('?' * len(values))})",
        list(values.values()),
    )
    version_id = int(cursor.lastrowid or 0)
    counts: dict[tuple[str, str | None], list[int]] = {}  # (concept, reason) -> found, stored
    counted: dict[tuple[str, str | None], bool] = {}
    long: dict[tuple[int, int], int] = {}  # sentences over max_sentence -> their length
    spans: list[tuple[int, int]] | None = None
    rows = []
    for m in processed.mentions:
        key = (m.concept, m.reason)
        tally = counts.setdefault(key, [0, 0])
        counted[key] = m.counted
        tally[0] += 1
        if tally[1] >= limits.max_mentions:
            continue
        tally[1] += 1
        span = (m.sentence_start, m.sentence_end)
        if not 0 <= span[0] <= m.start <= m.end <= span[1] <= len(text):
            spans = sentences(text) if spans is None else spans
            span = sentence_at(text, m.start, spans)
            span = (min(span[0], m.start), max(span[1], m.end))
        focus = (m.start, m.end)
        kept = span
        if span[1] - span[0] > limits.max_sentence:
            long[span] = span[1] - span[0]
            kept = around(text, span, focus, limits.max_sentence)
        rows.append(
            (
                version_id,
                document_id,
                m.concept,
                m.variant,
                excerpt(text, span, focus, EXCERPT),
                *kept,
                m.start,
                m.end - m.start,
                m.reason,
                int(m.counted),
                _facets_json(m),
            )
        )
    if not rows:
        return version_id, None
    db.conn.executemany(
        "INSERT INTO mentions (version_id, document_id, concept, variant, excerpt, "
        "sentence_start, sentence_end, position, length, reason, counted, facets) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    db.conn.executemany(
        "INSERT INTO mention_counts (version_id, document_id, concept, reason, counted, "
        "mentions, stored) VALUES (?,?,?,?,?,?,?)",
        [
            (version_id, document_id, concept, reason, int(counted[concept, reason]), *tally)
            for (concept, reason), tally in counts.items()
        ],
    )
    note = _limits_note(counts, long, limits)
    if note is not None:
        db.execute("UPDATE versions SET limits = ? WHERE id = ?", [note, version_id])
    return version_id, note


def _limits_note(
    counts: dict[tuple[str, str | None], list[int]],
    long: dict[tuple[int, int], int],
    limits: StoreLimits,
) -> str | None:
    """The limits one version hit, in words: "cvid: 12,000 mentions, 1,000 stored ([storage]
    max_mentions); 1 sentence over 2,000 characters (the longest 60,005) ..."."""
    parts = [
        f"{concept}{f' ({reason})' if reason else ''}: {found:,} mentions, {stored:,} stored"
        for (concept, reason), (found, stored) in counts.items()
        if found > stored
    ]
    if parts:
        parts[-1] += f" ([storage].max_mentions = {limits.max_mentions:,})"
    if long:
        parts.append(
            f"{len(long):,} sentence(s) over {limits.max_sentence:,} characters (the longest "
            f"{max(long.values()):,}): their mentions keep {limits.max_sentence:,} around them "
            "([storage].max_sentence)"
        )
    return "; ".join(parts) or None


def _facets_json(mention: Mention) -> str | None:
    if not mention.facets:
        return None
    grouped: dict[str, list[str]] = {}
    for facet, value in mention.facets:
        grouped.setdefault(facet, []).append(value)
    return json.dumps(grouped, ensure_ascii=False)


def raw_body(db: Database, version_id: int) -> bytes | None:
    """The fetched body behind a version, decompressed, so extraction can be re-run."""
    row = db.execute("SELECT body_hash FROM versions WHERE id = ?", [version_id]).fetchone()
    return load_body(db, row[0]) if row and row[0] is not None else None


def recent_versions(db: Database, url: str, limit: int = 5) -> list[StoredVersion]:
    """The latest versions of a document, newest first (to compare a new one with them)."""
    rows = db.execute(
        "SELECT v.id, d.id, d.url, COALESCE(v.title, d.title), v.content_hash, v.text, v.method "
        "FROM versions v JOIN documents d ON d.id = v.document_id WHERE d.url = ? "
        "ORDER BY v.id DESC LIMIT ?",
        [url, limit],
    ).fetchall()
    return [StoredVersion(*row) for row in rows]


def series_members(db: Database, series: str) -> list[tuple[StoredVersion, str]]:
    """Every member of a series with full text: its latest non-feed version and its date
    (publication, else first seen) for ordering."""
    rows = db.execute(
        "SELECT v.id, d.id, d.url, COALESCE(v.title, d.title), v.content_hash, v.text, v.method, "
        "COALESCE(d.published_at, d.first_seen_at) FROM documents d JOIN versions v ON v.id = "
        "(SELECT MAX(id) FROM versions WHERE document_id = d.id AND method != 'feed') "
        "WHERE d.series = ? ORDER BY d.id",
        [series],
    ).fetchall()
    return [(StoredVersion(*row[:7]), row[7]) for row in rows]


def is_placed(db: Database, url: str) -> bool:
    """Whether a document was already compared with its series neighbours."""
    row = db.execute("SELECT series_placed FROM documents WHERE url = ?", [url]).fetchone()
    return bool(row and row[0])


def series_of_document(db: Database, url: str) -> str | None:
    """The series a stored document belongs to, if any."""
    row = db.execute("SELECT series FROM documents WHERE url = ?", [url]).fetchone()
    return row[0] if row else None
