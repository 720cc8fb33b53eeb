"""Reads for the web view (monitor/web/): the pages' lists and details that the command line's
reads (queries.py, timeline.py) do not already give. Read only, like every page."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlite_utils import Database

from monitor.models import Comparison
from monitor.store.database import given


@dataclass(frozen=True)
class ChangeFilters:
    """What the Changes page was asked to show; None: no filter. Dates are UTC ISO-8601 and
    bound the detection time, as `monitor changes --since` does."""

    concept: str | None = None
    status: str | None = None
    move: str | None = None  # a ladder move: downgrade, upgrade
    source: str | None = None
    series: str | None = None
    since: str | None = None
    until: str | None = None  # exclusive
    superseded: bool = False


@dataclass(frozen=True)
class ChangeRow:
    id: int
    kind: str
    document_id: int
    url: str
    title: str | None
    source: str
    series: str | None
    detected_at: str
    significance: float
    verdict: str
    superseded_at: str | None


@dataclass(frozen=True)
class VersionSide:
    """One side of a change, or a version chosen for a diff."""

    id: int
    document_id: int
    url: str
    title: str | None
    source: str
    fetched_at: str
    published_at: str | None
    content_hash: str
    final_url: str | None
    text: str


@dataclass(frozen=True)
class ChangeDetail:
    row: ChangeRow
    comparison: Comparison  # changes.comparison, read back typed
    old: VersionSide
    new: VersionSide


@dataclass(frozen=True)
class DocumentRow:
    id: int
    url: str
    link: str
    source: str
    kind: str
    title: str | None
    published_at: str | None
    first_seen_at: str
    series: str | None


@dataclass(frozen=True)
class VersionRow:
    id: int
    fetched_at: str
    title: str | None
    content_hash: str
    words: int
    method: str


@dataclass(frozen=True)
class Neighbour:
    """An edition before or after a document in its series (by the stored successions, so in
    the order monitor placed them)."""

    document_id: int
    title: str | None
    url: str


@dataclass(frozen=True)
class MentionedDocument:
    document_id: int
    url: str
    title: str | None
    source: str
    date: int  # seconds since 1970 UTC (published, else first seen)
    mentions: int


@dataclass(frozen=True)
class AlertRow:
    id: int
    event: str
    subject: str
    text: str
    created_at: str
    change_id: int | None
    event_json: str | None = None  # set while no row of the event is rendered yet


_CHANGE_COLUMNS = (
    "c.id, c.kind, c.document_id, d.url, COALESCE(nv.title, d.title), d.source, c.series, "
    "c.detected_at, c.significance, c.verdict, c.superseded_at"
)
_CHANGE_FROM = (
    "changes c JOIN documents d ON d.id = c.document_id JOIN versions nv ON nv.id = c.version_id"
)


def change_rows(db: Database, filters: ChangeFilters, offset: int, limit: int) -> list[ChangeRow]:
    """A page of changes, most significant first (then newest), as `monitor changes` orders
    them; a concept or status is looked up as list_changes does (change_topics: the concept's
    count, facets or ladder moved).

    One ranked index is walked and read only as far as the page: change_topics' for a concept
    or a status (a change with two matching rows, two concepts dropped, is shown once), else
    changes' own; every other filter is checked on the rows walked (a unary `+` keeps SQLite
    from choosing the source's or the series' index, whose rows would all need sorting). Only a
    date range with both ends uses the detection-time index: it is narrow, and sorted whole."""
    where: list[str] = []
    params: list[str] = []
    if filters.concept is not None or filters.status not in (None, "unchanged"):
        source = (
            "change_topics t JOIN changes c ON c.id = t.change_id "
            "JOIN documents d ON d.id = c.document_id JOIN versions nv ON nv.id = c.version_id"
        )
        order, detected = "t.significance DESC, t.change_id DESC", "t.detected_at"
        for column, value in (("t.concept", filters.concept), ("t.status", filters.status)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if not filters.superseded:
            where.append("t.current = 1")
    else:
        source, order = _CHANGE_FROM, "c.significance DESC, c.id DESC"
        both = filters.since is not None and filters.until is not None
        detected = "c.detected_at" if both else "+c.detected_at"
        if not filters.superseded:
            where.append("c.superseded_at IS NULL")
        if filters.status is not None:  # 'unchanged': no topic row carries it
            where.append("c.id IN (SELECT change_id FROM change_concepts WHERE status = ?)")
            params.append(filters.status)
    if filters.move is not None:
        where.append(
            "EXISTS (SELECT 1 FROM change_moves m WHERE m.change_id = c.id AND m.move = ?)"
        )
        params.append(filters.move)
    for condition, value in (
        ("+d.source = ?", filters.source),
        ("+c.series = ?", filters.series),
        (f"{detected} >= ?", filters.since),
        (f"{detected} < ?", filters.until),
    ):
        if value is not None:
            where.append(condition)
            params.append(value)
    cursor = db.execute(
        f"SELECT {_CHANGE_COLUMNS} FROM {source} WHERE {' AND '.join(where) or '1 = 1'} "
        f"ORDER BY {order}",
        params,
    )
    rows: list[ChangeRow] = []
    seen: set[int] = set()
    try:
        for row in cursor:
            if row[0] in seen:
                continue
            seen.add(row[0])
            if len(seen) > offset:
                rows.append(ChangeRow(*row))
                if len(rows) == limit:
                    break
    finally:
        cursor.close()
    return rows


def change_sources(db: Database) -> list[str]:
    """The sources that have documents, for the filter's choices: one step of the source
    index per source (a DISTINCT over the documents' sources would read every one of them)."""
    rows = db.execute(
        "WITH RECURSIVE s(name) AS (SELECT MIN(source) FROM documents UNION ALL "
        "SELECT (SELECT MIN(source) FROM documents WHERE source > s.name) FROM s "
        "WHERE s.name IS NOT NULL) SELECT name FROM s WHERE name IS NOT NULL"
    ).fetchall()
    return [r[0] for r in rows]


def _side(db: Database, version_id: int) -> VersionSide | None:
    row = db.execute(
        "SELECT v.id, v.document_id, d.url, COALESCE(v.title, d.title), d.source, v.fetched_at, "
        "d.published_at, v.content_hash, v.final_url, v.text "
        "FROM versions v JOIN documents d ON d.id = v.document_id WHERE v.id = ?",
        [version_id],
    ).fetchone()
    return VersionSide(*row) if row is not None else None


def version_side(db: Database, version_id: int) -> VersionSide | None:
    """A version with its document's address and dates, for a diff."""
    return _side(db, version_id)


def change_detail(db: Database, change_id: int) -> ChangeDetail | None:
    """A stored change with both versions it compared."""
    row = db.execute(
        f"SELECT {_CHANGE_COLUMNS}, c.comparison, c.old_version_id, c.version_id "
        f"FROM {_CHANGE_FROM} WHERE c.id = ?",
        [change_id],
    ).fetchone()
    if row is None:
        return None
    old, new = _side(db, row[12]), _side(db, row[13])
    if old is None or new is None:
        return None
    return ChangeDetail(ChangeRow(*row[:11]), Comparison.from_json(json.loads(row[11])), old, new)


def document_row(db: Database, document_id: int) -> DocumentRow | None:
    """A stored document by its id; None when there is none."""
    columns = "id, url, link, source, kind, title, published_at, first_seen_at, series"
    row = db.execute(f"SELECT {columns} FROM documents WHERE id = ?", [document_id]).fetchone()
    return DocumentRow(*row) if row is not None else None


def document_versions(db: Database, document_id: int) -> list[VersionRow]:
    """A document's versions, oldest first, without their text."""
    rows = db.execute(
        "SELECT id, fetched_at, title, content_hash, words, method FROM versions "
        "WHERE document_id = ? ORDER BY id",
        [document_id],
    ).fetchall()
    return [VersionRow(*row) for row in rows]


def document_changes(db: Database, document_id: int) -> list[ChangeRow]:
    """The changes into a document (its revisions and its places in a series), newest first."""
    rows = db.execute(
        f"SELECT {_CHANGE_COLUMNS} FROM {_CHANGE_FROM} WHERE c.document_id = ? ORDER BY c.id DESC",
        [document_id],
    ).fetchall()
    return [ChangeRow(*row) for row in rows]


def series_neighbours(
    db: Database, document_id: int, series: str | None
) -> tuple[Neighbour | None, Neighbour | None]:
    """The editions before and after a document of `series`: the other sides of its current
    successions. The edition after is looked for among the series' members only (by the
    series index): changes have no index by their old side."""
    if series is None:  # not a series member: no succession has it on either side
        return None, None
    before = db.execute(
        "SELECT d.id, d.title, d.url FROM changes c JOIN versions v ON v.id = c.old_version_id "
        "JOIN documents d ON d.id = v.document_id WHERE c.kind = 'succession' "
        "AND c.superseded_at IS NULL AND c.document_id = ? ORDER BY c.id DESC LIMIT 1",
        [document_id],
    ).fetchone()
    after = db.execute(
        "SELECT d.id, d.title, d.url FROM documents d JOIN changes c ON c.document_id = d.id "
        "JOIN versions v ON v.id = c.old_version_id WHERE d.series = ? "
        "AND c.kind = 'succession' AND c.superseded_at IS NULL AND v.document_id = ? "
        "ORDER BY c.id DESC LIMIT 1",
        [series, document_id],
    ).fetchone()
    return (
        Neighbour(*before) if before is not None else None,
        Neighbour(*after) if after is not None else None,
    )


def concept_documents(
    db: Database,
    concept: str,
    period: tuple[int, int],
    *,
    source: str | None = None,
    series: str | None = None,
    limit: int = 200,
) -> list[MentionedDocument]:
    """The documents behind a bar of a concept's timeline: those dated in the period [start,
    end) (seconds since 1970 UTC) whose latest version counts mentions of it, most mentions
    first."""
    start, end = period
    where, params = "m.concept = ? AND m.date >= ? AND m.date < ?", [concept, start, end]
    if source is not None:
        where += " AND m.source = ?"
        params.append(source)
    if series is not None:
        where += " AND d.series = ?"
        params.append(series)
    rows = db.execute(
        "SELECT d.id, d.url, d.title, d.source, m.date, m.mentions FROM latest_mentions m "
        f"JOIN documents d ON d.id = m.document_id WHERE {where} "
        "ORDER BY m.mentions DESC, m.date DESC, d.id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [MentionedDocument(*row) for row in rows]


def series_dates(db: Database, concept: str) -> list[tuple[int, str, int]]:
    """(date, series, mentions) of each document of a series whose latest version counts
    mentions of the concept: a timeline per series (the store's timeline splits by source)."""
    rows = db.execute(
        "SELECT m.date, d.series, m.mentions FROM latest_mentions m "
        "JOIN documents d ON d.id = m.document_id "
        "WHERE m.concept = ? AND m.date IS NOT NULL AND d.series IS NOT NULL",
        [concept],
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def recent_alerts(
    db: Database, limit: int, *, concept: str | None = None, series: str | None = None
) -> list[AlertRow]:
    """The latest alerts, newest first, one per event (an alert is queued once per channel);
    with `concept` or `series` only alerts of changes involving it."""
    where, params = given(
        "a.event != 'digest'",
        {
            "a.change_id IN (SELECT change_id FROM change_topics WHERE concept = ?)": concept,
            "a.change_id IN (SELECT id FROM changes WHERE series = ?)": series,
        },
    )
    # One event's rows differ by channel only: their dedup keys are the event's key, a colon
    # and the channel's name. A row delivery has not rendered yet holds '' as its subject and
    # text and carries its event_json, for the caller to render as delivery would.
    rows = db.execute(
        "SELECT MIN(a.id), a.event, MAX(a.subject), MAX(a.text), MIN(a.created_at), a.change_id, "
        "CASE WHEN MAX(a.rendered_at) IS NULL THEN MIN(a.event_json) END "
        f"FROM alerts a WHERE {where} "
        "GROUP BY substr(a.dedup_key, 1, length(a.dedup_key) - length(a.channel) - 1) "
        "ORDER BY MIN(a.id) DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [AlertRow(*row) for row in rows]


def series_ids(db: Database) -> list[str]:
    """The series that have stored members."""
    rows = db.execute(
        "SELECT DISTINCT series FROM documents WHERE series IS NOT NULL ORDER BY series"
    ).fetchall()
    return [r[0] for r in rows]


def document_ids(db: Database, urls: list[str]) -> dict[str, int]:
    """The ids of documents by their canonical URLs (search gives URLs; pages link by id)."""
    rows = db.execute(
        "SELECT url, id FROM documents WHERE url IN (SELECT value FROM json_each(?))",
        [json.dumps(urls)],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def recent_changes(
    db: Database, limit: int, *, concept: str | None = None, series: str | None = None
) -> list[ChangeRow]:
    """The latest current changes, newest first (a feed's order), optionally of a concept or
    series."""
    where, params = given(
        "c.superseded_at IS NULL",
        {
            "c.id IN (SELECT change_id FROM change_topics WHERE concept = ?)": concept,
            "c.series = ?": series,
        },
    )
    rows = db.execute(
        f"SELECT {_CHANGE_COLUMNS} FROM {_CHANGE_FROM} WHERE {where} ORDER BY c.id DESC LIMIT ?",
        [*params, limit],
    ).fetchall()
    return [ChangeRow(*row) for row in rows]
