"""Reads for people: search, a document's history, source health, changes, summaries."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import date as calendar_date
from datetime import datetime, tzinfo

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
    SearchHit,
    SourceHealth,
    VersionView,
)
from monitor.store import snippets
from monitor.store.database import iso
from monitor.store.snippets import HANGUL, HAS_HANGUL, SEPARATORS, TERM, fold

ALL_HANGUL = re.compile(f"[{HANGUL}]+")

# Syllables: an indexed term that is a word, then one of these and more Hangul, is that word with
# a Korean particle or ending attached (ICBM을, 2018년, SNS에).
SYLLABLES = ("\uac00", "\ud7a4")

# The indexed terms that are a word with a Korean particle attached: fold(word) -> terms.
Forms = Callable[[str], Sequence[str]]


def _no_forms(_word: str) -> Sequence[str]:
    return ()


# A prefix longer than this has no FTS5 prefix index of its own (versions_fts prefix='2 3',
# schema.m009): FTS5 would merge every matching term's list, all of its hits, before the first
# row, so it is asked for as those terms instead (read from the vocabulary), up to TERMS of them.
PREFIXED = 3
TERMS = 64

# The indexed terms that begin with a folded prefix, or None when there are more than TERMS.
Terms = Callable[[str], Sequence[str] | None]


def _no_terms(_prefix: str) -> Sequence[str] | None:
    return None


def _term(tokens: list[str], prefix: bool, forms: Forms, terms: Terms = _no_terms) -> str:
    """One word or phrase as FTS5: its last token a prefix when asked (*) or Korean (as the
    indexed terms that begin with it, when it is longer than PREFIXED and they are few), else
    that token whole or with a Korean particle attached."""
    phrase = " ".join(tokens)
    head = tokens[:-1]
    if prefix or HAS_HANGUL.search(tokens[-1]):
        last = fold(tokens[-1])
        found = terms(last) if len(last) > PREFIXED else None
        if not found:  # [] (none indexed) matches nothing, as the prefix does
            return f'"{phrase}"*'
        return "(" + " OR ".join(f'"{" ".join([*head, term])}"' for term in found) + ")"
    attached = [f'"{" ".join([*head, form])}"' for form in forms(fold(tokens[-1]))]
    if not attached:
        return f'"{phrase}"'
    return "(" + " OR ".join([f'"{phrase}"', *attached]) + ")"


def fts_query(query: str, forms: Forms = _no_forms, terms: Terms = _no_terms) -> str:
    """Turn what a person typed into an FTS5 query in which every word and phrase must match.

    A word matches that word: war finds war, not wars or warhead (unicode61 folds case and
    diacritics); war* asks for a prefix, as in FTS5. A Korean word is a prefix anyway, because
    unicode61 keeps a particle in the token (비핵화 finds 비핵화를). For the same reason a
    word such as ICBM or 2018 is also looked for with a particle attached (ICBM을, 2018년):
    `forms` lists those indexed terms (see `search`). "Quoted words" are a phrase, whose last
    word follows the same rules. A prefix longer than PREFIXED is asked for as the indexed
    terms `terms` lists, when it lists them (the same rows, found without merging every hit).
    """
    parts = []
    for phrase, star, word in TERM.findall(query):
        text, prefix = (phrase, bool(star)) if phrase else (word, word.endswith("*"))
        tokens = [t for t in SEPARATORS.split(text) if t]
        if tokens:
            parts.append(_term(tokens, prefix, forms, terms))
    return " AND ".join(parts)  # FTS5 reads no implicit AND after a parenthesis


def _vocabulary(db: Database) -> None:
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms "
        "USING fts5vocab(main, versions_fts, row)"
    )


def _particle_forms(db: Database) -> Forms:
    """The indexed terms that are a folded word followed by Korean (from FTS5's vocabulary)."""
    _vocabulary(db)

    def forms(word: str) -> Sequence[str]:
        rows = db.execute(
            "SELECT term FROM temp.search_terms WHERE term >= ? AND term < ? ORDER BY term",
            [word + SYLLABLES[0], word + SYLLABLES[1]],
        ).fetchall()
        return [r[0] for r in rows if ALL_HANGUL.fullmatch(r[0], len(word))]

    return forms


def _prefix_terms(db: Database) -> Terms:
    """The indexed terms that begin with a folded prefix, up to TERMS of them (from FTS5's
    vocabulary, which reads each term's list to count it: the cost still grows with the hits,
    but by a smaller factor than FTS5's merge)."""
    _vocabulary(db)

    def terms(prefix: str) -> Sequence[str] | None:
        rows = db.execute(
            "SELECT term FROM temp.search_terms WHERE term >= ? AND term < ? ORDER BY term LIMIT ?",
            [prefix, prefix + "\U0010ffff", TERMS + 1],
        ).fetchall()
        return None if len(rows) > TERMS else [r[0] for r in rows]

    return terms


def search(
    db: Database, query: str, since: datetime | None = None, limit: int = 50
) -> list[SearchHit]:
    """Documents whose latest matching version contains the query, newest last.

    The rows to show are chosen first (newest `limit`); snippets are built for them only, from
    their text, in time that does not grow with the hits inside one document (see snippets)."""
    if not fts_query(query):
        return []
    try:
        match = fts_query(query, _particle_forms(db), _prefix_terms(db))
    except sqlite3.OperationalError as exc:
        raise ValueError(f"cannot search for {query!r}: {exc}") from exc
    try:
        chosen = _newest_documents(db, match, iso(since) if since else None, limit)
        words = snippets.phrases(query)
        hits = []
        for document_id, version_id in chosen:
            url, title, source, published, text = db.execute(
                "SELECT d.url, d.title, d.source, d.published_at, v.text FROM documents d "
                "JOIN versions v ON v.id = ? WHERE d.id = ?",
                [version_id, document_id],
            ).fetchone()
            hits.append(SearchHit(url, title, source, published, snippets.snippet(text, words)))
    except sqlite3.OperationalError as exc:
        raise ValueError(f"cannot search for {query!r}: {exc}") from exc
    return hits[::-1]


DATE = "COALESCE(published_at, first_seen_at)"  # a document's date (index documents_date)
BATCH = 200  # matching versions read per step, newest first (doubling at each step)
UNREAD = 64  # documents whose older versions are checked one by one, rather than read on
DATED = 10_000  # documents dated late enough to show that are looked at, beyond those found
# (2,000 made a word of 1 to 2% of versions read every hit: Singapore 14.8 ms at 100k, now 3.6)


def _newest_documents(
    db: Database, match: str, since: str | None, limit: int
) -> list[tuple[int, int]]:
    """(document, its latest matching version) for the `limit` newest documents (by date, then
    id) dated `since` or later that have a version matching `match`, newest first.

    Matching versions are read newest (highest id) first, in steps, without grouping every hit:
    after each step the documents found give the date of the limit-th; a document dated at
    least that which was not found has no match among the versions read, so only its older
    versions can still match, and once such documents are few those versions are checked
    directly. The answer is exact whatever the order of ids and dates; the cost is bounded when
    newer versions mostly belong to newer documents, as they do when monitor stores them."""
    found: dict[int, tuple[str, int]] = {}  # document -> (its date, latest matching version)
    cursor = db.execute(
        "SELECT f.rowid, v.document_id, COALESCE(d.published_at, d.first_seen_at) "
        "FROM versions_fts f "
        "JOIN versions v ON v.id = f.rowid JOIN documents d ON d.id = v.document_id "
        "WHERE versions_fts MATCH ? ORDER BY f.rowid DESC",
        [match],
    )
    step, lowest = BATCH, None  # lowest: the oldest version read so far
    while True:
        rows = cursor.fetchmany(step)
        for version_id, document_id, date in rows:
            found.setdefault(document_id, (date, version_id))
            lowest = version_id
        if len(rows) < step or lowest is None:
            break  # every matching version read
        kept = _ranked(found, since)
        floor = kept[limit - 1][0] if len(kept) >= limit else since
        if floor is not None and _older_matches(db, match, found, floor, lowest):
            break
        step *= 2
    cursor.close()
    return [(document_id, found[document_id][1]) for _, document_id in _ranked(found, since)][
        :limit
    ]


def _ranked(found: dict[int, tuple[str, int]], since: str | None) -> list[tuple[str, int]]:
    """(date, document) of the documents found dated `since` or later, newest first."""
    return sorted(
        ((date, doc) for doc, (date, _) in found.items() if since is None or date >= since),
        reverse=True,
    )


def _older_matches(
    db: Database, match: str, found: dict[int, tuple[str, int]], floor: str, lowest: int
) -> bool:
    """Add to `found` the documents dated `floor` or later, not found yet, that have a version
    older than `lowest` matching; False (nothing added) when more than UNREAD documents have
    such versions, or more than DATED documents are dated `floor` or later."""
    cap = len(found) + DATED
    # counted first on the date index alone: reading each one's oldest version costs far more
    (dated,) = db.execute(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM documents WHERE {DATE} >= ? LIMIT ?)", [floor, cap]
    ).fetchone()
    if dated >= cap:
        return False
    rows = db.execute(
        "SELECT d.id, (SELECT MIN(v.id) FROM versions v WHERE v.document_id = d.id) "
        f"FROM documents d WHERE {DATE} >= ? LIMIT ?",
        [floor, cap],
    ).fetchall()
    if len(rows) >= cap:
        return False
    # a document whose versions are all newer than `lowest` was read whole: it does not match
    unread = [r[0] for r in rows if r[0] not in found and r[1] is not None and r[1] < lowest]
    if len(unread) > UNREAD:
        return False
    older: list[tuple[int, int]] = []  # (version, document), newest first
    for document_id in unread:
        older += [
            (r[0], document_id)
            for r in db.execute(
                "SELECT id FROM versions WHERE document_id = ? AND id < ? ORDER BY id DESC",
                [document_id, lowest],
            )
        ]
    for version_id, document_id in sorted(older, reverse=True):
        if document_id in found:
            continue
        hit = db.execute(
            "SELECT 1 FROM versions_fts WHERE versions_fts MATCH ? AND rowid = ?",
            [match, version_id],
        ).fetchone()
        if hit is not None:
            date = db.execute(
                f"SELECT {DATE} FROM documents WHERE id = ?", [document_id]
            ).fetchone()[0]
            found[document_id] = (date, version_id)
    return True


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
        versions.append(
            VersionView(
                id=vid,
                fetched_at=fetched_at,
                text=text,
                concepts=counts,
                set_aside=aside,
                limits=limits,
            )
        )
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
    where, params = ["1 = 1" if superseded else "c.superseded_at IS NULL"], []
    if since is not None:
        where.append("c.detected_at >= ?")
        params.append(since)
    if status is not None:
        where.append("c.id IN (SELECT change_id FROM change_concepts WHERE status = ?)")
        params.append(status)
    rows = db.execute(
        f"SELECT c.id FROM changes c WHERE {' AND '.join(where)} "
        "ORDER BY c.significance DESC, c.id DESC LIMIT ?",
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
    return [
        Change(
            kind,
            url,
            title,
            old_title,
            source,
            series,
            datetime.fromisoformat(at),
            old_hash,
            new_hash,
            significance,
            verdict,
            Comparison.from_json(json.loads(comparison)),
            old_version,
            new_version,
        )
        for (
            kind,
            url,
            title,
            old_title,
            source,
            series,
            at,
            old_hash,
            new_hash,
            significance,
            verdict,
            comparison,
            old_version,
            new_version,
        ) in rows
    ]


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


def mention_dates(
    db: Database,
    concept: str | None,
    source: str | None,
    since: datetime | None = None,
    seen: bool = False,
) -> list[tuple[datetime, str, str, int]]:
    """(document date, source, concept, mentions) for the latest version of every document, the
    date being its publication time (else when it was first seen), or with `seen` when monitor
    first saw it."""
    when = "d.first_seen_at" if seen else "COALESCE(d.published_at, d.first_seen_at)"
    where, params = ["m.counted"], []  # m: the version's mention counts
    if concept is not None:
        where.append("m.concept = ?")
        params.append(concept)
    if source is not None:
        where.append("d.source = ?")
        params.append(source)
    if since is not None:
        where.append(f"{when} >= ?")
        params.append(iso(since))
    if concept is not None:  # read by concept (index), each row kept if its version is latest
        join = "mention_counts m JOIN documents d ON d.id = m.document_id"
        where.append(
            "NOT EXISTS (SELECT 1 FROM versions w WHERE w.document_id = m.document_id "
            "AND w.id > m.version_id)"
        )
    else:  # read by source or date (index), each document's latest version
        join = (
            "documents d JOIN mention_counts m ON m.version_id = "
            "(SELECT MAX(id) FROM versions WHERE document_id = d.id)"
        )
    rows = db.execute(
        f"SELECT {when}, d.source, m.concept, SUM(m.mentions) FROM {join} "
        f"WHERE {' AND '.join(where)} GROUP BY d.id, m.concept",
        params,
    ).fetchall()
    return [(datetime.fromisoformat(at), src, cid, n) for at, src, cid, n in rows]


DAY = 86_400


def offsets(zone: tzinfo, first: int, last: int) -> list[tuple[int, int]]:
    """The zone's UTC offsets from `first` to `last` (seconds since 1970): (from, offset in
    seconds) pairs, the first from `first`. Read a day apart and narrowed to the second where
    they differ: two changes less than a day apart that cancel out would not be seen."""

    def offset(at: int) -> int:
        delta = datetime.fromtimestamp(at, zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    found = [(first, offset(first))]
    at = first
    while at < last:
        step = min(at + DAY, last)
        current = offset(step)
        if current != found[-1][1]:
            low, high = at, step  # offset(low) is the old one, offset(high) the new
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == found[-1][1] else (low, middle)
            found.append((high, current))
        at = step
    return found


def day_spans(zone: tzinfo, first: int, last: int) -> list[tuple[int, int, int]]:
    """[start, end) spans of seconds since 1970 covering `first` to `last`, each within one
    local date in `zone`: (start, end, that date as days since 1970-01-01). A span ends at
    each local midnight and at each change of offset, so a date may have several spans (and,
    where a clock went back over midnight, spans apart)."""
    spans = []
    changes = offsets(zone, first, last)
    for n, (at, offset) in enumerate(changes):
        end = changes[n + 1][0] if n + 1 < len(changes) else last + 1
        while at < end:
            day = (at + offset) // DAY
            cut = min((day + 1) * DAY - offset, end)
            spans.append((at, cut, day))
            at = cut
    return spans


def concept_days(
    db: Database,
    concept: str,
    source: str | None,
    zone: tzinfo,
    *,
    split: bool = False,
    group: Callable[[calendar_date], object] = lambda day: day,
) -> list[tuple[calendar_date, str | None, int]]:
    """(local date in `zone`, source when `split`, mentions) of a concept: the counted mentions
    of each document's latest version on its date (published, else first seen), summed per
    local day, and per source when `split`; only `source`'s documents when given. With
    `group` (a date's period, such as its month), adjacent days of one period are summed as
    one, on the first of them.

    Read from latest_mentions by its indexes on (concept, date) and (concept, source, date):
    one range per period (or day, see `day_spans`) and source, summed in SQL, so nothing is
    sorted and no row comes to Python."""
    where, params = "concept = ? AND date IS NOT NULL", [concept]
    if source is not None:
        where += " AND source = ?"
        params.append(source)
    first = db.execute(
        f"SELECT date FROM latest_mentions WHERE {where} ORDER BY date LIMIT 1", params
    ).fetchone()
    if first is None:
        return []
    last = db.execute(
        f"SELECT date FROM latest_mentions WHERE {where} ORDER BY date DESC LIMIT 1", params
    ).fetchone()
    epoch = calendar_date(1970, 1, 1).toordinal()
    spans: list[tuple[int, int, int]] = []  # day spans, adjacent ones of one period merged
    last_period = None
    for start, end, day in day_spans(zone, first[0], last[0]):
        period = group(calendar_date.fromordinal(epoch + day))
        if spans and last_period == period and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end, spans[-1][2])
        else:
            spans.append((start, end, day))
        last_period = period
    sources: list[str | None] = [source]
    if split and source is None:  # each source of the concept, one index seek apiece
        sources = [
            r[0]
            for r in db.execute(
                "WITH RECURSIVE seen(source) AS (SELECT MIN(source) FROM latest_mentions "
                "WHERE concept = :c UNION ALL SELECT (SELECT MIN(source) FROM latest_mentions "
                "WHERE concept = :c AND source > seen.source) FROM seen "
                "WHERE seen.source IS NOT NULL) SELECT source FROM seen WHERE source IS NOT NULL",
                {"c": concept},
            )
        ]
    ranges = json.dumps([[start, end] for start, end, _ in spans])
    counts: dict[tuple[int, str | None], int] = {}
    for src in sources:
        chosen = "" if src is None else " AND source = ?"
        rows = db.execute(
            "SELECT p.key, (SELECT SUM(mentions) FROM latest_mentions WHERE concept = ? "
            f"AND date >= json_extract(p.value, '$[0]') AND date < json_extract(p.value, '$[1]')"
            f"{chosen}) FROM json_each(?) p",
            [concept, *([] if src is None else [src]), ranges],
        ).fetchall()
        for at, n in rows:
            if n is not None:
                found = (spans[at][2], src if split else None)
                counts[found] = counts.get(found, 0) + n
    return [(calendar_date.fromordinal(epoch + day), src, n) for (day, src), n in counts.items()]
