"""Reads for people: a document's history, source health, the concept summary, stored
changes, and the changes and new articles of a period (for the digest)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from monitor.analysis.text import tidy
from monitor.models import (
    ArticleEvent,
    Change,
    ChangeView,
    Comparison,
    ConceptSummary,
    DocumentHistory,
    Mention,
    SourceHealth,
    VersionView,
)
from monitor.store.database import given, iso


def history(db: Database, url: str, canonical: str) -> DocumentHistory | None:
    """A document (by its link or canonical URL) and all its versions, oldest first."""
    row = db.execute(
        "SELECT id, url, title, source FROM documents WHERE url = ? OR url = ? OR link = ?",
        [url, canonical, url],
    ).fetchone()
    if row is None:
        return None
    versions = []
    for vid, fetched_at, text, limits in db.execute(
        "SELECT id, fetched_at, text, limits FROM versions WHERE document_id = ? ORDER BY id",
        [row[0]],
    ).fetchall():
        counts = dict(
            db.execute(
                "SELECT concept, SUM(mentions) FROM mention_counts WHERE version_id = ? "
                "AND counted GROUP BY concept ORDER BY concept",
                [vid],
            ).fetchall()
        )
        aside: dict[str, dict[str, int]] = {}
        for concept, reason, n in db.execute(
            "SELECT concept, reason, SUM(mentions) FROM mention_counts WHERE version_id = ? "
            "AND NOT counted GROUP BY concept, reason ORDER BY concept, reason",
            [vid],
        ).fetchall():
            aside.setdefault(concept, {})[reason] = n
        versions.append(VersionView(vid, fetched_at, text, counts, aside, limits))
    return DocumentHistory(url=row[1], title=row[2], source=row[3], versions=tuple(versions))


def source_health(db: Database, names: Sequence[str]) -> list[SourceHealth]:
    """Health of the configured sources, in config order."""
    rows = {
        r[0]: r
        for r in db.execute(
            "SELECT s.name, s.url, s.kind, s.last_success_at, s.last_error, "
            "s.consecutive_failures, (SELECT COUNT(*) FROM documents d WHERE d.source = s.name), "
            "s.warning FROM sources s"
        ).fetchall()
    }
    return [
        SourceHealth(
            name=r[0],
            url=r[1],
            kind=r[2],
            last_success=r[3],
            last_error=r[4],
            consecutive_failures=r[5],
            documents=r[6],
            warning=r[7],
        )
        for r in (rows[n] for n in names if n in rows)
    ]


def concept_summary(db: Database) -> list[ConceptSummary]:
    """Mentions per concept in the latest version of each document, most mentioned first."""
    latest = "SELECT MAX(id) FROM versions GROUP BY document_id"
    rows = db.execute(
        f"SELECT concept, SUM(mentions) AS n, COUNT(DISTINCT document_id) FROM mention_counts "
        f"WHERE counted AND version_id IN ({latest}) GROUP BY concept ORDER BY n DESC, concept"
    ).fetchall()
    result = []
    for concept, mentions, documents in rows:
        variants = tuple(
            r[0]
            for r in db.execute(
                f"SELECT variant FROM mentions WHERE concept = ? AND counted "
                f"AND version_id IN ({latest}) "
                "GROUP BY lower(variant) ORDER BY COUNT(*) DESC LIMIT 5",
                [concept],
            )
        )
        # The shortest sentence of 60 characters or more, sliced from its version's text.
        size = "COALESCE(m.sentence_end - m.sentence_start, length(m.excerpt))"
        excerpt, title, whole = db.execute(
            f"SELECT m.excerpt, COALESCE(d.title, d.url), substr(v.text, m.sentence_start + 1, "
            f"m.sentence_end - m.sentence_start) FROM mentions m "
            f"JOIN documents d ON d.id = m.document_id JOIN versions v ON v.id = m.version_id "
            f"WHERE m.concept = ? AND m.counted AND m.version_id IN ({latest}) "
            f"ORDER BY {size} < 60, {size} LIMIT 1",
            [concept],
        ).fetchone()
        sentence = tidy(whole) if whole else excerpt
        result.append(ConceptSummary(concept, mentions, documents, variants, sentence, title))
    return result


def list_changes(
    db: Database,
    since: datetime | None = None,
    concept: str | None = None,
    limit: int = 200,
    *,
    superseded: bool = False,
    status: str | None = None,
) -> list[ChangeView]:
    """Stored changes, most significant first (then newest first); with `superseded` also the
    successions that an edition placed between their two sides made obsolete; with `status`
    only those where some concept (with `concept`, that concept) has that status (dropped,
    introduced, increased, ...).

    With a concept or a status the changes are ranked by an index of change_topics (the
    concepts each change involves), read only as far as the `limit` shown."""
    at = iso(since) if since is not None else None
    if concept is None and status in (None, "unchanged"):
        ids = _ranked_changes(db, at, status, limit, superseded)
    else:
        where, params = [], []
        if concept is not None:
            # the concept's count moved, its facets moved, or a ladder moved to or from it
            where.append("concept = ?")
            params.append(concept)
        if status is not None:  # that concept's status, else some involved concept's
            where.append("status = ?")
            params.append(status)
        ids = _ranked_topics(db, " AND ".join(where), params, at, limit, superseded)
    if not ids:
        return []
    rows = db.execute(
        "SELECT c.id, c.kind, d.url, d.title, c.detected_at, c.significance, c.verdict, "
        "c.comparison, c.superseded_at, c.superseded_by "
        "FROM changes c JOIN documents d ON d.id = c.document_id "
        "WHERE c.id IN (SELECT value FROM json_each(?)) "
        "ORDER BY c.significance DESC, c.id DESC",
        [json.dumps(ids)],
    ).fetchall()
    return [ChangeView(*row) for row in rows]


def _ranked_changes(
    db: Database, since: str | None, status: str | None, limit: int, superseded: bool
) -> list[int]:
    """The ids of the `limit` most significant changes (then newest), by changes' own index;
    with `status`, those where some concept has it."""
    where, params = given(
        "1 = 1" if superseded else "c.superseded_at IS NULL",
        {
            "c.detected_at >= ?": since,
            "c.id IN (SELECT change_id FROM change_concepts WHERE status = ?)": status,
        },
    )
    rows = db.execute(
        f"SELECT c.id FROM changes c WHERE {where} ORDER BY c.significance DESC, c.id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [r[0] for r in rows]


def _ranked_topics(
    db: Database,
    where: str,
    params: list[str],
    since: str | None,
    limit: int,
    superseded: bool,
) -> list[int]:
    """The ids of the `limit` most significant changes (then newest) with a change_topics row
    matching `where`: one index walk for the current ones and, with `superseded`, one for the
    superseded ones, merged. A change with two matching rows (two concepts dropped) is read
    twice and kept once."""
    if since is not None:
        where += " AND detected_at >= ?"
        params = [*params, since]
    found: list[tuple[float, int]] = []
    for current in (1, 0) if superseded else (1,):
        cursor = db.execute(
            f"SELECT significance, change_id FROM change_topics WHERE {where} AND current = ? "
            "ORDER BY significance DESC, change_id DESC",
            [*params, current],
        )
        seen: set[int] = set()
        for significance, change_id in cursor:
            if change_id not in seen:
                seen.add(change_id)
                found.append((significance, change_id))
                if len(seen) == limit:
                    break
        cursor.close()
    return [change_id for _, change_id in sorted(found, reverse=True)[:limit]]


def changes_between(db: Database, start: datetime, end: datetime) -> list[Change]:
    """Current changes detected in [start, end), most significant first (a superseded one
    compared an edition with the wrong neighbour)."""
    rows = db.execute(
        "SELECT c.kind, d.url, COALESCE(nv.title, d.title), ov.title, d.source, c.series, "
        "c.detected_at, ov.content_hash, nv.content_hash, c.significance, c.verdict, c.comparison, "
        "c.old_version_id, c.version_id "
        "FROM changes c JOIN documents d ON d.id = c.document_id "
        "JOIN versions nv ON nv.id = c.version_id JOIN versions ov ON ov.id = c.old_version_id "
        "WHERE c.detected_at >= ? AND c.detected_at < ? AND c.superseded_at IS NULL "
        "ORDER BY c.significance DESC, c.id",
        [iso(start), iso(end)],
    ).fetchall()
    return [_change(row) for row in rows]


def _change(row: tuple[Any, ...]) -> Change:
    """A Change from changes_between's row, whose columns are in Change's order: the detection
    time (column 6) and the comparison (column 11) parsed."""
    fields = list(row)
    fields[6] = datetime.fromisoformat(fields[6])
    fields[11] = Comparison.from_json(json.loads(fields[11]))
    return Change(*fields)


def articles_between(db: Database, start: datetime, end: datetime) -> list[ArticleEvent]:
    """New feed entries and articles first seen in [start, end) that mention a concept, with the
    mentions of their latest version; newest first."""
    rows = db.execute(
        "SELECT d.id, d.url, d.title, d.source, d.published_at, d.first_seen_at, v.id, "
        "v.content_hash FROM documents d JOIN versions v ON v.id = "
        "(SELECT MAX(id) FROM versions WHERE document_id = d.id) "
        "WHERE d.kind IN ('entry', 'article') AND d.first_seen_at >= ? AND d.first_seen_at < ? "
        "AND EXISTS (SELECT 1 FROM mentions m WHERE m.version_id = v.id AND m.counted) "
        "ORDER BY COALESCE(d.published_at, d.first_seen_at) DESC, d.id DESC",
        [iso(start), iso(end)],
    ).fetchall()
    events = []
    for _, url, title, source, published, first_seen, version_id, content_hash in rows:
        mentions = stored_mentions(db, version_id, counted=True)
        counts = db.execute(
            "SELECT concept, SUM(mentions) FROM mention_counts WHERE version_id = ? AND counted "
            "GROUP BY concept ORDER BY concept",
            [version_id],
        ).fetchall()
        events.append(
            ArticleEvent(
                url,
                title,
                source,
                datetime.fromisoformat(published) if published else None,
                datetime.fromisoformat(first_seen),
                content_hash,
                mentions,
                tuple((concept, int(n)) for concept, n in counts),
            )
        )
    return events


def stored_mentions(db: Database, version_id: int, *, counted: bool = False) -> tuple[Mention, ...]:
    """The stored mentions of a version (with `counted` only those that count), by position,
    each with its sentence sliced from the version's text (at most [storage].max_sentence
    characters of it); the excerpt where the sentence was not located."""
    text = db.execute("SELECT text FROM versions WHERE id = ?", [version_id]).fetchone()[0]
    shown: dict[tuple[int, int], str] = {}  # each sentence sliced and tidied once

    def sentence(excerpt: str, start: int | None, end: int | None) -> str:
        if start is None or end is None:
            return excerpt
        if (start, end) not in shown:
            shown[start, end] = tidy(text[start:end])
        return shown[start, end]

    return tuple(
        Mention(
            concept,
            variant,
            sentence(excerpt, start, end),
            position,
            position + length,
            reason,
            bool(counts),
            sentence_start=-1 if start is None else start,
            sentence_end=-1 if end is None else end,
        )
        for concept, variant, excerpt, start, end, position, length, reason, counts in db.execute(
            "SELECT concept, variant, excerpt, sentence_start, sentence_end, position, length, "
            f"reason, counted FROM mentions WHERE version_id = ? {'AND counted' if counted else ''} "
            "ORDER BY position, id",
            [version_id],
        )
    )
