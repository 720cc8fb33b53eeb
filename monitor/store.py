"""The SQLite history: schema, migrations and every query. No other module writes SQL.

The database is a user-facing interface (README, "The database"): tables and columns are named
for people who query them with SQL or Datasette. Times are UTC ISO-8601 strings.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from monitor.config import Source
from monitor.models import (
    Attempt,
    ChangeRecord,
    ChangeView,
    ConceptSummary,
    DocumentHistory,
    FeedEntry,
    Processed,
    SearchHit,
    SourceHealth,
    Stored,
    StoredVersion,
    VersionView,
)

migrations = Migrations("monitor")


@migrations()
def m001_initial(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,          -- the source's name in the config
            kind TEXT NOT NULL,             -- feed or page
            url TEXT NOT NULL,              -- the address polled
            title TEXT,                     -- the feed's own title, when it has one
            added_at TEXT NOT NULL,         -- first seen in the config
            last_attempt_at TEXT,           -- last poll, successful or not
            last_success_at TEXT,           -- last poll that fetched and parsed
            last_error TEXT,                -- why the last failed poll failed (NULL after a success)
            last_error_at TEXT,
            consecutive_failures INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE http_cache (
            url TEXT PRIMARY KEY,           -- a fetched address
            etag TEXT,                      -- its last ETag, sent back as If-None-Match
            last_modified TEXT,             -- its last Last-Modified, sent back as If-Modified-Since
            updated_at TEXT NOT NULL
        );
        CREATE TABLE fetches (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,           -- the source the request was made for
            url TEXT NOT NULL,
            started_at TEXT NOT NULL,
            status INTEGER,                 -- HTTP status; NULL when no response came
            bytes INTEGER NOT NULL,         -- body bytes received
            elapsed_ms INTEGER NOT NULL,
            error TEXT                      -- NULL when the attempt succeeded
        );
        CREATE INDEX fetches_source ON fetches(source, started_at);
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,       -- canonical address (no fragment, no tracking parameters)
            link TEXT NOT NULL,             -- the address as the feed or config gave it
            source TEXT NOT NULL,           -- the source that found it first
            kind TEXT NOT NULL,             -- entry (feed text only), article (followed link), page
            title TEXT,
            summary TEXT,                   -- the feed entry's summary as plain text
            published_at TEXT,              -- publication time in UTC, when known
            published_raw TEXT,             -- the date exactly as the feed wrote it
            first_seen_at TEXT NOT NULL,
            last_checked_at TEXT NOT NULL,
            last_error TEXT,                -- why its last fetch or extraction failed, if it did
            failures INTEGER NOT NULL DEFAULT 0  -- failed attempts to fetch its article in a row
        );
        CREATE INDEX documents_source ON documents(source);
        CREATE TABLE versions (
            id INTEGER PRIMARY KEY,
            document_id INTEGER NOT NULL REFERENCES documents(id),
            fetched_at TEXT NOT NULL,
            content_hash TEXT NOT NULL,     -- sha256 of the normalised text
            title TEXT,
            text TEXT NOT NULL,             -- the extracted text
            words INTEGER NOT NULL,
            method TEXT NOT NULL,           -- how the text was obtained (trafilatura, pdf, feed, ...)
            content_type TEXT,
            final_url TEXT,                 -- the address after redirects
            raw BLOB,                       -- the fetched body, zlib-compressed (NULL for feed text)
            raw_bytes INTEGER               -- the body's size before compression
        );
        CREATE INDEX versions_document ON versions(document_id, id);
        CREATE TABLE mentions (
            id INTEGER PRIMARY KEY,
            version_id INTEGER NOT NULL REFERENCES versions(id),
            document_id INTEGER NOT NULL REFERENCES documents(id),
            concept TEXT NOT NULL,          -- concept id from the config
            variant TEXT NOT NULL,          -- the spelling that matched, as written
            sentence TEXT NOT NULL,         -- the original sentence around it
            position INTEGER NOT NULL,      -- character offset of the match in versions.text
            length INTEGER NOT NULL         -- its length in characters
        );
        CREATE INDEX mentions_concept ON mentions(concept);
        CREATE INDEX mentions_version ON mentions(version_id);
        """
    )
    db.table("versions").enable_fts(
        ["title", "text"], create_triggers=True, tokenize="unicode61 remove_diacritics 2"
    )


@migrations()
def m002_changes(db: Database) -> None:
    db.executescript(
        """
        ALTER TABLE documents ADD COLUMN series TEXT;  -- the series it is an edition of, if any
        CREATE INDEX documents_series ON documents(series);
        CREATE TABLE changes (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,             -- revision (same URL), succession (previous member of
                                            -- its series) or baseline (the series' baseline)
            document_id INTEGER NOT NULL REFERENCES documents(id),   -- the newer document
            version_id INTEGER NOT NULL REFERENCES versions(id),     -- its version compared
            old_version_id INTEGER NOT NULL REFERENCES versions(id), -- what it was compared with
            series TEXT,
            detected_at TEXT NOT NULL,
            significance REAL NOT NULL,     -- 0 to 1, see README "Significance"
            verdict TEXT NOT NULL,          -- the one-line summary
            comparison TEXT NOT NULL        -- JSON, exactly what `monitor compare --json` prints
        );
        CREATE INDEX changes_detected ON changes(detected_at);
        CREATE INDEX changes_document ON changes(document_id);
        """
    )


def now() -> str:
    """The current time as stored: UTC ISO-8601 with seconds."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def open_db(path: Path) -> Database:
    """Open (creating if needed) the database in WAL mode and apply pending migrations."""
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path, execute_plugins=False)
    db.execute("PRAGMA journal_mode=wal")
    # In WAL mode NORMAL is still crash-safe (a killed process loses nothing committed); it only
    # skips the fsync per commit, which otherwise dominates one-transaction-per-document writes.
    db.execute("PRAGMA synchronous=normal")
    db.execute("PRAGMA foreign_keys=on")
    db.execute("PRAGMA busy_timeout=10000")
    migrations.apply(db)
    return db


def sync_sources(db: Database, sources: Iterable[Source]) -> None:
    with db.atomic():
        for source in sources:
            db.execute(
                "INSERT INTO sources (name, kind, url, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
                [source.name, source.kind, source.url, now()],
            )


def validators(db: Database, url: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified remembered for a URL."""
    row = db.execute("SELECT etag, last_modified FROM http_cache WHERE url = ?", [url]).fetchone()
    return (row[0], row[1]) if row else (None, None)


def save_validators(db: Database, url: str, headers: dict[str, str]) -> None:
    etag, modified = headers.get("etag"), headers.get("last-modified")
    if etag or modified:
        db.execute(
            "INSERT INTO http_cache (url, etag, last_modified, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
            "last_modified = excluded.last_modified, updated_at = excluded.updated_at",
            [url, etag, modified, now()],
        )


def record_attempts(db: Database, source: str, attempts: Sequence[Attempt]) -> None:
    with db.atomic():
        db.conn.executemany(
            "INSERT INTO fetches (source, url, started_at, status, bytes, elapsed_ms, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    source,
                    a.url,
                    iso(a.started_at),
                    a.status,
                    a.bytes,
                    round(a.elapsed * 1000),
                    a.error,
                )
                for a in attempts
            ],
        )


def source_succeeded(
    db: Database, name: str, title: str | None = None, warning: str | None = None
) -> None:
    """Record a successful poll; `warning` keeps a problem that did not stop it (a damaged feed)."""
    stamp = now()
    db.execute(
        "UPDATE sources SET last_attempt_at = ?, last_success_at = ?, last_error = ?, "
        "last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END, "
        "consecutive_failures = 0, title = COALESCE(?, title) WHERE name = ?",
        [stamp, stamp, warning, warning, stamp, title, name],
    )


def source_failed(db: Database, name: str, error: str) -> None:
    stamp = now()
    db.execute(
        "UPDATE sources SET last_attempt_at = ?, last_error = ?, last_error_at = ?, "
        "consecutive_failures = consecutive_failures + 1 WHERE name = ?",
        [stamp, error, stamp, name],
    )


def entry_states(db: Database, urls: Iterable[str]) -> dict[str, tuple[str, int]]:
    """For the stored ones among these canonical URLs: their kind and failed article fetches."""
    wanted = list(urls)
    found: dict[str, tuple[str, int]] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT url, kind, failures FROM documents WHERE url IN ({marks})", chunk
        )
        found.update((url, (kind, failures)) for url, kind, failures in rows)
    return found


def owed_entries(db: Database, source: str, max_failures: int) -> list[FeedEntry]:
    """Entries of a source whose article fetch failed and is still to be retried."""
    rows = db.execute(
        "SELECT url, link, title, summary, published_at, published_raw FROM documents "
        "WHERE source = ? AND kind = 'entry' AND failures > 0 AND failures < ? ORDER BY id",
        [source, max_failures],
    ).fetchall()
    return [
        FeedEntry(
            url,
            link,
            title or "",
            summary or "",
            datetime.fromisoformat(published) if published else None,
            raw,
        )
        for url, link, title, summary, published, raw in rows
    ]


def give_up_article(db: Database, url: str, error: str, max_failures: int) -> None:
    """Stop retrying an article (e.g. refused by robots.txt): a final answer, not a hiccup."""
    db.execute(
        "UPDATE documents SET last_error = ?, failures = ? WHERE url = ?",
        [error, max_failures, url],
    )


def save_document(
    db: Database,
    *,
    source: str,
    url: str,
    link: str,
    kind: str,
    processed: Processed,
    entry: FeedEntry | None = None,
    content_type: str | None = None,
    final_url: str | None = None,
    series: str | None = None,
    published: datetime | None = None,
    changes: Sequence[ChangeRecord] = (),
    failure: str | None = None,
    validators: tuple[str, dict[str, str]] | None = None,
) -> Stored:
    """Store a document and, when its normalised text changed, a new version with the changes
    found against earlier versions: one transaction."""
    stamp = now()
    extracted = processed.extracted
    title = extracted.title or (entry.title if entry else None)
    published = published or (entry.published if entry and entry.published else None)
    published = published or extracted.published
    with db.atomic():
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
        if validators is not None:
            save_validators(db, *validators)
        latest = db.execute(
            "SELECT content_hash FROM versions WHERE document_id = ? ORDER BY id DESC LIMIT 1",
            [document_id],
        ).fetchone()
        if latest is not None and latest[0] == processed.normalised_hash:
            return Stored(document_id, new_document, False, 0)
        cursor = db.execute(
            "INSERT INTO versions (document_id, fetched_at, content_hash, title, text, words, "
            "method, content_type, final_url, raw, raw_bytes) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [
                document_id,
                stamp,
                processed.normalised_hash,
                title,
                extracted.text,
                len(extracted.text.split()),
                extracted.method,
                content_type,
                final_url,
                processed.raw,
                processed.raw_bytes,
            ],
        )
        version_id = int(cursor.lastrowid or 0)
        db.conn.executemany(
            "INSERT INTO mentions (version_id, document_id, concept, variant, sentence, "
            "position, length) VALUES (?,?,?,?,?,?,?)",
            [
                (
                    version_id,
                    document_id,
                    m.concept,
                    m.variant,
                    m.sentence,
                    m.start,
                    m.end - m.start,
                )
                for m in processed.mentions
            ],
        )
        for change in changes:
            newer = change.new_version_id or version_id
            newer_document = db.execute(
                "SELECT document_id FROM versions WHERE id = ?", [newer]
            ).fetchone()[0]
            db.execute(
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
                    json.dumps(change.comparison, ensure_ascii=False),
                ],
            )
    return Stored(document_id, new_document, True, len(processed.mentions), len(changes))


def raw_body(db: Database, version_id: int) -> bytes | None:
    """The fetched body behind a version, decompressed, so extraction can be re-run."""
    row = db.execute("SELECT raw FROM versions WHERE id = ?", [version_id]).fetchone()
    return zlib.decompress(row[0]) if row and row[0] is not None else None


HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
TERM = re.compile(r'"([^"]+)"|(\S+)')


def fts_query(query: str) -> str:
    """Turn what a person typed into an FTS5 query: quoted phrases stay phrases, words are prefixes.

    Prefixes let 비핵화 find 비핵화를 (unicode61 keeps a Korean particle in the token) and
    denuclear find denuclearization.
    """
    parts = []
    for phrase, word in TERM.findall(query):
        if phrase:
            parts.append('"' + phrase.replace('"', "") + '"')
        else:
            cleaned = re.sub(r"[^\w]+", " ", word).split()
            parts.extend('"' + token + '"*' for token in cleaned)
    return " ".join(parts)


def search(
    db: Database, query: str, since: datetime | None = None, limit: int = 50
) -> list[SearchHit]:
    """Documents whose latest matching version contains the query, newest last."""
    match = fts_query(query)
    if not match:
        return []
    params: list[Any] = [match]
    where = ""
    if since is not None:
        where = "AND COALESCE(d.published_at, d.first_seen_at) >= ?"
        params.append(iso(since))
    params.append(limit)
    sql = f"""
        WITH hits AS (
            SELECT v.document_id, MAX(v.id) AS version_id
            FROM versions_fts JOIN versions v ON v.id = versions_fts.rowid
            WHERE versions_fts MATCH ? GROUP BY v.document_id
        )
        SELECT d.url, d.title, d.source, d.published_at,
               snippet(versions_fts, 1, '[', ']', ' … ', 16) AS snippet,
               COALESCE(d.published_at, d.first_seen_at) AS sort_key
        FROM hits
        JOIN documents d ON d.id = hits.document_id
        JOIN versions_fts ON versions_fts.rowid = hits.version_id AND versions_fts MATCH ?
        WHERE 1 = 1 {where}
        ORDER BY sort_key DESC LIMIT ?
    """
    params.insert(1, match)
    try:
        rows = db.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        raise ValueError(f"cannot search for {query!r}: {exc}") from exc
    hits = [
        SearchHit(url=r[0], title=r[1], source=r[2], published=r[3], snippet=r[4]) for r in rows
    ]
    return hits[::-1]


def history(db: Database, url: str, canonical: str) -> DocumentHistory | None:
    """A document (by its link or canonical URL) and all its versions, oldest first."""
    row = db.execute(
        "SELECT id, url, title, source FROM documents WHERE url = ? OR url = ? OR link = ?",
        [url, canonical, url],
    ).fetchone()
    if row is None:
        return None
    versions = []
    for vid, fetched_at, text in db.execute(
        "SELECT id, fetched_at, text FROM versions WHERE document_id = ? ORDER BY id", [row[0]]
    ).fetchall():
        counts = dict(
            db.execute(
                "SELECT concept, COUNT(*) FROM mentions WHERE version_id = ? "
                "GROUP BY concept ORDER BY concept",
                [vid],
            ).fetchall()
        )
        versions.append(VersionView(id=vid, fetched_at=fetched_at, text=text, concepts=counts))
    return DocumentHistory(url=row[1], title=row[2], source=row[3], versions=tuple(versions))


def source_health(db: Database, names: Sequence[str]) -> list[SourceHealth]:
    """Health of the configured sources, in config order."""
    rows = {
        r[0]: r
        for r in db.execute(
            "SELECT s.name, s.url, s.kind, s.last_success_at, s.last_error, "
            "s.consecutive_failures, (SELECT COUNT(*) FROM documents d WHERE d.source = s.name) "
            "FROM sources s"
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
        )
        for r in (rows[n] for n in names if n in rows)
    ]


def concept_summary(db: Database) -> list[ConceptSummary]:
    """Mentions per concept in the latest version of each document, most mentioned first."""
    latest = "SELECT MAX(id) FROM versions GROUP BY document_id"
    rows = db.execute(
        f"SELECT concept, COUNT(*), COUNT(DISTINCT document_id) FROM mentions "
        f"WHERE version_id IN ({latest}) GROUP BY concept ORDER BY COUNT(*) DESC, concept"
    ).fetchall()
    result = []
    for concept, mentions, documents in rows:
        variants = tuple(
            r[0]
            for r in db.execute(
                f"SELECT variant FROM mentions WHERE concept = ? AND version_id IN ({latest}) "
                "GROUP BY lower(variant) ORDER BY COUNT(*) DESC LIMIT 5",
                [concept],
            )
        )
        sentence, title = db.execute(
            f"SELECT m.sentence, COALESCE(d.title, d.url) FROM mentions m "
            f"JOIN documents d ON d.id = m.document_id WHERE m.concept = ? "
            f"AND m.version_id IN ({latest}) "
            f"ORDER BY length(m.sentence) < 60, length(m.sentence) LIMIT 1",
            [concept],
        ).fetchone()
        result.append(ConceptSummary(concept, mentions, documents, variants, sentence, title))
    return result


def recent_versions(db: Database, url: str, limit: int = 5) -> list[StoredVersion]:
    """The latest versions of a document, newest first (to compare a new one with them)."""
    rows = db.execute(
        "SELECT v.id, d.id, d.url, COALESCE(v.title, d.title), v.content_hash, v.text, v.method "
        "FROM versions v JOIN documents d ON d.id = v.document_id WHERE d.url = ? "
        "ORDER BY v.id DESC LIMIT ?",
        [url, limit],
    ).fetchall()
    return [StoredVersion(*row) for row in rows]


def series_neighbours(
    db: Database, series: str, url: str, published: datetime | None, baseline: str | None
) -> tuple[StoredVersion | None, StoredVersion | None, StoredVersion | None]:
    """For a document about to be stored as a member of `series`: the latest versions of the
    member before it and the member after it (by publication date), and of the baseline."""
    key = iso(published) if published else now()
    latest = (
        "SELECT v.id, d.id, d.url, COALESCE(v.title, d.title), v.content_hash, v.text, v.method "
        "FROM documents d JOIN versions v ON v.id = "
        "(SELECT MAX(id) FROM versions WHERE document_id = d.id) "
    )
    order = "COALESCE(d.published_at, d.first_seen_at)"
    before = db.execute(
        latest + f"WHERE d.series = ? AND d.url != ? AND {order} <= ? "
        f"ORDER BY {order} DESC, d.id DESC LIMIT 1",
        [series, url, key],
    ).fetchone()
    after = db.execute(
        latest + f"WHERE d.series = ? AND d.url != ? AND {order} > ? "
        f"ORDER BY {order}, d.id LIMIT 1",
        [series, url, key],
    ).fetchone()
    base = None
    if baseline is not None and baseline != url:
        found = db.execute(latest + "WHERE d.url = ?", [baseline]).fetchone()
        base = StoredVersion(*found) if found else None
    return (
        StoredVersion(*before) if before else None,
        StoredVersion(*after) if after else None,
        base,
    )


def list_changes(
    db: Database, since: datetime | None = None, concept: str | None = None, limit: int = 200
) -> list[ChangeView]:
    """Stored changes, most significant first (then newest first)."""
    where, params = ["1 = 1"], []
    if since is not None:
        where.append("c.detected_at >= ?")
        params.append(iso(since))
    if concept is not None:
        # Changes where the concept is present on either side and its count moved, or that
        # moved a ladder it is on.
        where.append(
            "(EXISTS (SELECT 1 FROM json_each(c.comparison, '$.concepts') j "
            "WHERE json_extract(j.value, '$.id') = ? "
            "AND json_extract(j.value, '$.status') != 'unchanged') "
            "OR EXISTS (SELECT 1 FROM json_each(c.comparison, '$.stance') k "
            "WHERE json_extract(k.value, '$.move') != 'same' "
            "AND ? IN (json_extract(k.value, '$.old'), json_extract(k.value, '$.new'))))"
        )
        params += [concept, concept]
    rows = db.execute(
        "SELECT c.id, c.kind, d.url, d.title, c.detected_at, c.significance, c.verdict, "
        "c.comparison FROM changes c JOIN documents d ON d.id = c.document_id "
        f"WHERE {' AND '.join(where)} ORDER BY c.significance DESC, c.id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    views = []
    for cid, kind, url, title, detected, significance, verdict, comparison in rows:
        data = json.loads(comparison)
        views.append(
            ChangeView(
                cid,
                kind,
                url,
                title,
                detected,
                significance,
                verdict,
                data["concepts"],
                data["stance"],
            )
        )
    return views
