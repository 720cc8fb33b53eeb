"""The poll's bookkeeping: each source's row and the outcome of its polls, the fetch attempts,
the HTTP validators remembered per URL, and which feed entries still owe an article fetch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlite_utils import Database

from monitor.models import Attempt, FeedEntry
from monitor.redact import public_url
from monitor.store.database import iso, now, transaction

# Only a type name: the read-only commands import the store without the config (pydantic).
if TYPE_CHECKING:
    from monitor.config import Source


def sync_sources(db: Database, sources: Iterable[Source]) -> None:
    """Keep the configured sources' rows (a URL with credentials is stored without them);
    writes only when one is new or changed, so reading commands work on a read-only database
    and do not queue behind a writer."""
    stored = {(r[0], r[1], r[2]) for r in db.execute("SELECT name, kind, url FROM sources")}
    changed = [s for s in sources if (s.name, s.kind, public_url(s.url)) not in stored]
    if not changed:
        return
    with transaction(db):
        for source in changed:
            db.execute(
                "INSERT INTO sources (name, kind, url, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url",
                [source.name, source.kind, public_url(source.url), now()],
            )


def validators(db: Database, url: str) -> tuple[str | None, str | None]:
    """The ETag and Last-Modified remembered for a URL."""
    etag, modified, _ = fetch_state(db, url)
    return etag, modified


def fetch_state(db: Database, url: str) -> tuple[str | None, str | None, str | None]:
    """The ETag, Last-Modified and body hash remembered for a URL."""
    row = db.execute(
        "SELECT etag, last_modified, body_hash FROM http_cache WHERE url = ?", [url]
    ).fetchone()
    return (row[0], row[1], row[2]) if row else (None, None, None)


def save_validators(
    db: Database, url: str, headers: dict[str, str], body_hash: str | None = None
) -> None:
    """Remember a URL's validators and, once its body was fully handled, the body's hash."""
    etag, modified = headers.get("etag"), headers.get("last-modified")
    if etag or modified or body_hash:
        db.execute(
            "INSERT INTO http_cache (url, etag, last_modified, updated_at, body_hash) "
            "VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
            "last_modified = excluded.last_modified, updated_at = excluded.updated_at, "
            "body_hash = excluded.body_hash",
            [url, etag, modified, now(), body_hash],
        )


def page_unchanged(
    db: Database, source_url: str, url: str, headers: dict[str, str], body_hash: str
) -> None:
    """A watched page answered with the body already handled: only its check time and
    validators change."""
    with transaction(db):
        save_validators(db, source_url, headers, body_hash)
        db.execute("UPDATE documents SET last_checked_at = ? WHERE url = ?", [now(), url])


def page_placement(db: Database, url: str) -> tuple[str | None, bool] | None:
    """A stored document's title and whether it was placed in its series; None if not stored."""
    row = db.execute("SELECT title, series_placed FROM documents WHERE url = ?", [url]).fetchone()
    return (row[0], bool(row[1])) if row else None


def record_attempts(db: Database, source: str, attempts: Sequence[Attempt]) -> None:
    with transaction(db):
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
) -> tuple[int, str | None]:
    """Record a successful poll; `warning` keeps a problem that did not stop it (a damaged feed).

    Returns the failures in a row before this success and when that run of failures began."""
    stamp = now()
    before = db.execute(
        "SELECT consecutive_failures, failing_since FROM sources WHERE name = ?", [name]
    ).fetchone()
    db.execute(
        "UPDATE sources SET last_attempt_at = ?, last_success_at = ?, last_error = ?, "
        "last_error_at = CASE WHEN ? IS NULL THEN last_error_at ELSE ? END, "
        "consecutive_failures = 0, failing_since = NULL, title = COALESCE(?, title) "
        "WHERE name = ?",
        [stamp, stamp, warning, warning, stamp, title, name],
    )
    return (before[0], before[1]) if before else (0, None)


def source_warning(db: Database, name: str, url: str, warning: str | None) -> None:
    """Keep a warning about a document of a source that did not stop its poll (a wrong charset
    declaration); `None` clears the warning if it is about `url` (decoded right this time)."""
    with transaction(db):
        if warning is None:
            db.execute(
                "UPDATE sources SET warning = NULL, warning_url = NULL, warning_at = NULL "
                "WHERE name = ? AND warning_url = ?",
                [name, url],
            )
        else:
            db.execute(
                "UPDATE sources SET warning = ?, warning_url = ?, warning_at = ? WHERE name = ?",
                [warning, url, now(), name],
            )


def source_failed(db: Database, name: str, error: str) -> tuple[int, str]:
    """Record a failed poll; returns the failures in a row and when they began."""
    stamp = now()
    db.execute(
        "UPDATE sources SET last_attempt_at = ?, last_error = ?, last_error_at = ?, "
        "failing_since = COALESCE(failing_since, ?), "
        "consecutive_failures = consecutive_failures + 1 WHERE name = ?",
        [stamp, error, stamp, stamp, name],
    )
    row = db.execute(
        "SELECT consecutive_failures, failing_since FROM sources WHERE name = ?", [name]
    ).fetchone()
    return (row[0], row[1]) if row else (1, stamp)


def entry_states(db: Database, urls: Iterable[str]) -> dict[str, tuple[str, int, str | None]]:
    """For the stored ones among these canonical URLs: their kind, failed article fetches and
    the hash of their feed entry as last stored."""
    wanted = list(urls)
    found: dict[str, tuple[str, int, str | None]] = {}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT url, kind, failures, entry_hash FROM documents WHERE url IN ({marks})", chunk
        )
        found.update((url, (kind, failures, entry)) for url, kind, failures, entry in rows)
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
