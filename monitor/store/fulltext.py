"""Full-text search of the history: what a person typed as an FTS5 query, and the newest
documents that match it, each with a snippet (built by store/snippets.py)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlite_utils import Database

from monitor.models import SearchHit
from monitor.store import snippets
from monitor.store.database import iso
from monitor.store.search_words import HANGUL, HAS_HANGUL, SEPARATORS, TERM, fold, phrases

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
        words = phrases(query)
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
