"""The schema and its migrations, applied at start (monitor/store/database.py opens it).

The database is a user-facing interface (README, "The database"): tables and columns are named
for people who query them with SQL or Datasette. Longer than most modules, and on purpose: it is
the schema's history, one migration after another, each left as it was released (a database
made by any earlier version is brought up to date by the ones after it).
"""

from __future__ import annotations

import logging
import sqlite3
import zlib

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from monitor.analysis.text import excerpt, sentence_at, sentences, tidy
from monitor.store.bodies import body_hash, pack, save_body

log = logging.getLogger(__name__)

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


@migrations()
def m003_alerts(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            dedup_key TEXT NOT NULL UNIQUE, -- one message per event and channel, ever
            event TEXT NOT NULL,            -- change, article, source or digest
            channel TEXT NOT NULL,          -- email, or the name of a webhook
            recipients TEXT NOT NULL,       -- JSON list of addresses (email)
            subject TEXT NOT NULL,
            text TEXT NOT NULL,             -- the plain-text body
            html TEXT,                      -- the HTML body, if any
            payload TEXT NOT NULL,          -- JSON body for webhooks
            created_at TEXT NOT NULL,       -- written with the event that caused it
            status TEXT NOT NULL DEFAULT 'pending',  -- pending, sent, or failed (gave up)
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT NOT NULL,  -- when delivery is tried next
            last_error TEXT,                -- why the last attempt failed
            sent_at TEXT                    -- when the channel accepted it
        );
        CREATE INDEX alerts_due ON alerts(status, next_attempt_at);
        ALTER TABLE sources ADD COLUMN failing_since TEXT;  -- first failure of the current run
        -- 1 once a series member has been compared with its neighbours in the series
        ALTER TABLE documents ADD COLUMN series_placed INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE jobs (
            name TEXT PRIMARY KEY,          -- poll:<source>, deliver, digest
            last_started_at TEXT,
            last_success_at TEXT,           -- a start polls what is older than its interval
            last_error TEXT
        );
        CREATE TABLE heartbeat (
            id INTEGER PRIMARY KEY CHECK (id = 1),  -- one row: the running service
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            beat_at TEXT NOT NULL           -- `monitor health` wants this recent
        );
        """
    )


@migrations()
def m004_relevance(db: Database) -> None:
    db.executescript(
        """
        -- why a mention was set aside (excluded, negated, reported, other-target, no-target),
        -- NULL when it is relevant; see README "Relevance"
        ALTER TABLE mentions ADD COLUMN reason TEXT;
        -- 1 when it counts in verdicts, the digest and timelines ([relevance].count may let a
        -- set-aside reason count)
        ALTER TABLE mentions ADD COLUMN counted INTEGER NOT NULL DEFAULT 1;
        -- the facet values read around it, as JSON: {"object": ["dprk"]}; NULL when none
        ALTER TABLE mentions ADD COLUMN facets TEXT;
        """
    )


@migrations()
def m005_superseded(db: Database) -> None:
    db.executescript(
        """
        -- An edition placed between two members already compared (it arrived later, or in the
        -- same poll) makes their succession obsolete: the change is kept, marked here.
        ALTER TABLE changes ADD COLUMN superseded_at TEXT;  -- when that happened (NULL: current)
        -- the succession stored in its place (the in-between edition against the later side,
        -- else the earlier side against it; NULL when neither differs enough to be stored)
        ALTER TABLE changes ADD COLUMN superseded_by INTEGER REFERENCES changes(id);
        -- `monitor changes` and the digest read only current changes
        CREATE INDEX changes_current ON changes(detected_at) WHERE superseded_at IS NULL;
        -- the change an alert tells of, so an alert still waiting for a superseded change is
        -- withdrawn (status superseded); NULL for other events and alerts queued before this
        ALTER TABLE alerts ADD COLUMN change_id INTEGER REFERENCES changes(id);
        CREATE INDEX alerts_change ON alerts(change_id);
        """
    )
    # Repair what earlier releases left: a succession A -> C with both A -> B and B -> C stored
    # after it is one that an edition B, placed between A and C, made obsolete.
    rows = db.execute(
        """
        SELECT ac.id, MIN(bc.id) FROM changes ac
        JOIN versions a ON a.id = ac.old_version_id
        JOIN changes bc ON bc.kind = 'succession' AND bc.series = ac.series
            AND bc.document_id = ac.document_id AND bc.id > ac.id
        JOIN versions b ON b.id = bc.old_version_id
        JOIN changes ab ON ab.kind = 'succession' AND ab.series = ac.series
            AND ab.document_id = b.document_id AND ab.id > ac.id
        JOIN versions a2 ON a2.id = ab.old_version_id AND a2.document_id = a.document_id
        WHERE ac.kind = 'succession' GROUP BY ac.id
        """
    ).fetchall()
    for superseded, by in rows:
        db.execute(
            "UPDATE changes SET superseded_by = ?, "
            "superseded_at = (SELECT detected_at FROM changes WHERE id = ?) WHERE id = ?",
            [by, by, superseded],
        )


@migrations()
def m006_claims(db: Database) -> None:
    db.executescript(
        """
        -- the delivery run holding a message being sent (a token per run, NULL when none):
        -- deferring, retrying and marking sent change only rows their own run still holds, so
        -- two overlapping runs never put back or resend what the other one took
        ALTER TABLE alerts ADD COLUMN claimed_by TEXT;
        """
    )


@migrations()
def m007_source_warning(db: Database) -> None:
    db.executescript(
        """
        -- a problem that did not stop the source's polls: a document whose declared charset
        -- was wrong (it names the declared charset and the one used); NULL when none
        ALTER TABLE sources ADD COLUMN warning TEXT;
        ALTER TABLE sources ADD COLUMN warning_url TEXT;  -- the document it is about
        ALTER TABLE sources ADD COLUMN warning_at TEXT;   -- when it was found
        """
    )


EXCERPT = 300  # characters of a mention's sentence stored in mentions.excerpt


@migrations()
def m008_mention_offsets(db: Database) -> None:
    """Mentions point into versions.text instead of copying their sentence, which one hostile
    page repeated 12,000 times (README "Bounded mentions and search")."""
    db.executescript(
        """
        -- the stored sentence becomes an excerpt of at most about 300 characters around the
        -- mention; the whole sentence is versions.text[sentence_start:sentence_end]
        ALTER TABLE mentions RENAME COLUMN sentence TO excerpt;
        ALTER TABLE mentions ADD COLUMN sentence_start INTEGER;  -- NULL: not located
        ALTER TABLE mentions ADD COLUMN sentence_end INTEGER;
        -- the limits a version hit ([storage].max_mentions, max_sentence), in words; NULL: none
        ALTER TABLE versions ADD COLUMN limits TEXT;
        -- the true number of mentions per version, concept and reason, however many are stored
        CREATE TABLE mention_counts (
            version_id INTEGER NOT NULL REFERENCES versions(id),
            document_id INTEGER NOT NULL REFERENCES documents(id),
            concept TEXT NOT NULL,
            reason TEXT,                    -- as mentions.reason
            counted INTEGER NOT NULL,       -- as mentions.counted
            mentions INTEGER NOT NULL,      -- how many were found
            stored INTEGER NOT NULL         -- how many of them are rows of mentions
        );
        CREATE INDEX mention_counts_version ON mention_counts(version_id);
        CREATE INDEX mention_counts_concept ON mention_counts(concept);
        INSERT INTO mention_counts
            SELECT version_id, document_id, concept, reason, counted, COUNT(*), COUNT(*)
            FROM mentions GROUP BY version_id, document_id, concept, reason, counted;
        """
    )
    # Locate each old sentence in its version's text and shorten it to the excerpt. One version
    # at a time, reading only the ends of the old sentences: a database that one page filled with
    # 720 MB of copies converts in bounded memory.
    versions = [r[0] for r in db.execute("SELECT DISTINCT version_id FROM mentions")]
    for version_id in versions:
        text = db.execute("SELECT text FROM versions WHERE id = ?", [version_id]).fetchone()[0]
        spans = sentences(text) or [(0, len(text))]
        rows = db.execute(
            "SELECT id, position, length, length(excerpt), substr(excerpt, 1, 100), "
            "substr(excerpt, -100) FROM mentions WHERE version_id = ?",
            [version_id],
        ).fetchall()
        shown: dict[tuple[int, int], str] = {}
        updates: list[tuple[str | None, int | None, int | None, int]] = []
        for mid, position, length, size, head, tail in rows:
            span = sentence_at(text, position, spans)
            if span not in shown:
                shown[span] = tidy(text[span[0] : span[1]])
            whole = shown[span]
            focus = (position, position + length)
            if len(whole) == size and whole.startswith(head) and whole.endswith(tail):
                updates.append((excerpt(text, span, focus, EXCERPT), *span, mid))
            else:  # edited or re-split since: keep the old sentence, shortened
                updates.append((None, None, None, mid))
        db.conn.executemany(
            "UPDATE mentions SET excerpt = COALESCE(?, excerpt), sentence_start = ?, "
            "sentence_end = ? WHERE id = ?",
            updates,
        )
    unlocated = db.execute(
        "SELECT id FROM mentions WHERE sentence_start IS NULL AND length(excerpt) > ?", [EXCERPT]
    ).fetchall()
    for (mid,) in unlocated:
        old, variant = db.execute(
            "SELECT excerpt, variant FROM mentions WHERE id = ?", [mid]
        ).fetchone()
        at = max(old.find(variant), 0)
        db.execute(
            "UPDATE mentions SET excerpt = ? WHERE id = ?",
            [excerpt(old, (0, len(old)), (at, at + len(variant)), EXCERPT), mid],
        )


@migrations()
def m009_change_index(db: Database) -> None:
    """What each change did to each concept and ladder, in indexed rows read instead of the
    comparison JSON, and the indexes that lookups by address and date use (README "Queries at
    scale")."""
    db.executescript(
        """
        -- one row per concept a change compared (comparison.concepts)
        CREATE TABLE change_concepts (
            change_id INTEGER NOT NULL REFERENCES changes(id),
            concept TEXT NOT NULL,          -- concept id from the config
            status TEXT NOT NULL,           -- dropped, introduced, increased, decreased, unchanged
            old_count INTEGER NOT NULL,     -- counted mentions before
            new_count INTEGER NOT NULL,     -- and after
            superseded INTEGER NOT NULL     -- 1: dropped because its ladder moved up past it
        );
        CREATE INDEX change_concepts_concept ON change_concepts(concept, status);
        CREATE INDEX change_concepts_status ON change_concepts(status);
        CREATE INDEX change_concepts_change ON change_concepts(change_id);
        -- one row per facet of a concept a change compared (comparison.qualifiers)
        CREATE TABLE change_qualifiers (
            change_id INTEGER NOT NULL REFERENCES changes(id),
            concept TEXT NOT NULL,
            facet TEXT NOT NULL,
            status TEXT NOT NULL            -- kept, changed, introduced or dropped
        );
        CREATE INDEX change_qualifiers_concept ON change_qualifiers(concept, status);
        CREATE INDEX change_qualifiers_change ON change_qualifiers(change_id);
        -- one row per ladder a change compared (comparison.stance)
        CREATE TABLE change_moves (
            change_id INTEGER NOT NULL REFERENCES changes(id),
            ladder TEXT NOT NULL,           -- ladder id from the config
            old TEXT,                       -- its strongest concept before (NULL: none)
            new TEXT,                       -- and after
            move TEXT NOT NULL              -- downgrade, upgrade or same
        );
        CREATE INDEX change_moves_old ON change_moves(old) WHERE move != 'same';
        CREATE INDEX change_moves_new ON change_moves(new) WHERE move != 'same';
        CREATE INDEX change_moves_move ON change_moves(move, ladder);
        CREATE INDEX change_moves_change ON change_moves(change_id);
        INSERT INTO change_concepts
            SELECT c.id, json_extract(j.value, '$.id'), json_extract(j.value, '$.status'),
                json_extract(j.value, '$.old'), json_extract(j.value, '$.new'),
                COALESCE(json_extract(j.value, '$.superseded'), 0)
            FROM changes c, json_each(c.comparison, '$.concepts') j ORDER BY c.id, j.key;
        INSERT INTO change_qualifiers
            SELECT c.id, json_extract(q.value, '$.concept'), json_extract(q.value, '$.facet'),
                json_extract(q.value, '$.status')
            FROM changes c, json_each(c.comparison, '$.qualifiers') q ORDER BY c.id, q.key;
        INSERT INTO change_moves
            SELECT c.id, json_extract(k.value, '$.ladder'), json_extract(k.value, '$.old'),
                json_extract(k.value, '$.new'), json_extract(k.value, '$.move')
            FROM changes c, json_each(c.comparison, '$.stance') k ORDER BY c.id, k.key;
        -- `monitor show` finds a document by its link as well as its URL
        CREATE INDEX documents_link ON documents(link);
        -- search --since and timelines read documents by their date
        CREATE INDEX documents_date ON documents(COALESCE(published_at, first_seen_at));
        CREATE INDEX documents_first_seen ON documents(first_seen_at);
        -- a concept's changes, most significant first
        CREATE INDEX changes_significance ON changes(significance DESC, id DESC);
        """
    )
    # The full-text index again, with prefix indexes of 2 and 3 characters: a Korean word (a
    # prefix, for its particles) or a word* of that length reads its own index, lazily, instead
    # of merging every longer term's list. The triggers on versions name the table and stay.
    db.executescript(
        """
        DROP TABLE versions_fts;
        CREATE VIRTUAL TABLE versions_fts USING FTS5 (
            title, text, tokenize='unicode61 remove_diacritics 2', prefix='2 3',
            content='versions'
        );
        INSERT INTO versions_fts (versions_fts) VALUES ('rebuild');
        """
    )


@migrations()
def m010_bodies(db: Database) -> None:
    """Each fetched body stored once, zstd-compressed (a document's later bodies against its
    first), and what an idle poll compares before it parses or extracts (README "Idle polls")."""
    for statement in (
        """CREATE TABLE bodies (
            hash TEXT PRIMARY KEY,          -- sha256 of the body as fetched
            bytes INTEGER NOT NULL,         -- its size before compression
            -- the body whose content was the zstd dictionary (the document's first body);
            -- NULL when it was compressed alone
            base TEXT REFERENCES bodies(hash),
            data BLOB NOT NULL              -- zstd (level 3)
        )""",
        # the body a version was extracted from; NULL for feed text
        "ALTER TABLE versions ADD COLUMN body_hash TEXT REFERENCES bodies(hash)",
        "CREATE INDEX versions_body ON versions(body_hash)",
        # sha256 of the last body of this URL that was fully handled: the same body again is
        # neither parsed nor extracted
        "ALTER TABLE http_cache ADD COLUMN body_hash TEXT",
        # sha256 of the feed entry's title, summary and link as last stored: the same entry
        # again is not written again
        "ALTER TABLE documents ADD COLUMN entry_hash TEXT",
    ):
        db.execute(statement)
    # The full-text index follows an update of the title or text only: setting body_hash below
    # (or any other column, later) must not delete and re-insert every version's words.
    db.executescript(
        """
        DROP TRIGGER IF EXISTS versions_au;
        CREATE TRIGGER versions_au AFTER UPDATE OF title, text ON versions BEGIN
          INSERT INTO versions_fts (versions_fts, rowid, title, text)
            VALUES ('delete', old.rowid, old.title, old.text);
          INSERT INTO versions_fts (rowid, title, text) VALUES (new.rowid, new.title, new.text);
        END;
        """
    )
    # Convert the zlib bodies one version at a time (bounded memory), oldest first per document
    # so that each document's first body becomes the base of its later ones.
    ids = [
        r[0]
        for r in db.execute(
            "SELECT id FROM versions WHERE raw IS NOT NULL ORDER BY document_id, id"
        ).fetchall()
    ]
    for version_id in ids:
        document_id, raw = db.execute(
            "SELECT document_id, raw FROM versions WHERE id = ?", [version_id]
        ).fetchone()
        try:
            body = zlib.decompress(raw)
        except zlib.error as exc:  # one damaged body must not keep the whole history closed
            log.warning(
                "version %s: its stored body is damaged (%s) and is dropped; its text stays",
                version_id,
                exc,
            )
            continue
        digest = body_hash(body)
        save_body(db, digest, pack(body), len(body), document_id)
        db.execute("UPDATE versions SET body_hash = ? WHERE id = ?", [digest, version_id])
    if sqlite3.sqlite_version_info >= (3, 35):
        db.execute("ALTER TABLE versions DROP COLUMN raw")
    else:  # no DROP COLUMN before SQLite 3.35: the column stays, empty (nothing reads it)
        db.execute("UPDATE versions SET raw = NULL")


# The concepts a change involves, as `monitor changes --concept` finds them: its count moved,
# a facet of it moved, or a ladder moved from or to it (rows of change_concepts,
# change_qualifiers and change_moves); with each, its status in change_concepts (a comparison
# lists a concept once).
_TOPICS = """
    INSERT INTO change_topics (change_id, concept, status, significance, current, detected_at)
    SELECT c.id, t.concept, (SELECT k.status FROM change_concepts k
            WHERE k.change_id = c.id AND k.concept = t.concept LIMIT 1),
        c.significance, c.superseded_at IS NULL, c.detected_at
    FROM (SELECT change_id, concept FROM change_concepts WHERE status != 'unchanged' {only}
        UNION SELECT change_id, concept FROM change_qualifiers WHERE status != 'kept' {only}
        UNION SELECT change_id, old FROM change_moves WHERE move != 'same' AND old IS NOT NULL
            {only}
        UNION SELECT change_id, new FROM change_moves WHERE move != 'same' AND new IS NOT NULL
            {only}) t
    JOIN changes c ON c.id = t.change_id
    """

# A document's date as integer seconds since 1970 (UTC), as timelines count it.
EPOCH = "CAST(strftime('%s', COALESCE(d.published_at, d.first_seen_at)) AS INTEGER)"
_LATEST = f"""
    INSERT INTO latest_mentions (document_id, concept, source, date, mentions)
    SELECT m.document_id, m.concept, d.source, {EPOCH}, SUM(m.mentions)
    FROM mention_counts m JOIN documents d ON d.id = m.document_id
    WHERE m.counted AND m.version_id IN ({{versions}}) GROUP BY m.document_id, m.concept
    """


def fill_change_topics(db: Database, change_id: int | None = None) -> None:
    """Write the change_topics rows of one change (from its rows of the change index and of
    changes), or with no `change_id` rewrite those of every change."""
    if change_id is None:
        db.execute("DELETE FROM change_topics")
        db.execute(_TOPICS.format(only=""))
        return
    db.execute("DELETE FROM change_topics WHERE change_id = ?", [change_id])
    db.execute(_TOPICS.format(only="AND change_id = :id"), {"id": change_id})


def fill_latest_mentions(db: Database, document_id: int | None = None) -> None:
    """Write the latest_mentions rows of one document from its latest version's mention_counts,
    or with no `document_id` rewrite those of every document."""
    if document_id is None:
        db.execute("DELETE FROM latest_mentions")
        db.execute(_LATEST.format(versions="SELECT MAX(id) FROM versions GROUP BY document_id"))
        return
    db.execute("DELETE FROM latest_mentions WHERE document_id = ?", [document_id])
    db.execute(
        _LATEST.format(versions="SELECT MAX(id) FROM versions WHERE document_id = :id"),
        {"id": document_id},
    )


@migrations()
def m011_aggregates(db: Database) -> None:
    """What `monitor changes --concept/--status` and `monitor timeline` read at a million
    versions: a concept's changes ranked by an index, and each document's latest counts with
    its date (README "Queries at scale")."""
    db.executescript(
        """
        -- one row per concept a change involves (its count moved, a facet of it moved, or a
        -- ladder moved from or to it), ranked by the change's significance
        CREATE TABLE change_topics (
            change_id INTEGER NOT NULL REFERENCES changes(id),
            concept TEXT NOT NULL,          -- concept id from the config
            status TEXT,                    -- its status in change_concepts (NULL: not listed)
            significance REAL NOT NULL,     -- as changes.significance
            current INTEGER NOT NULL,       -- 1 while changes.superseded_at is NULL
            detected_at TEXT NOT NULL       -- as changes.detected_at
        );
        -- ranked as `monitor changes` lists them; detected_at last, for --since
        CREATE INDEX change_topics_concept ON change_topics(
            concept, current, significance DESC, change_id DESC, detected_at);
        CREATE INDEX change_topics_concept_status ON change_topics(
            concept, status, current, significance DESC, change_id DESC, detected_at);
        CREATE INDEX change_topics_status ON change_topics(
            status, current, significance DESC, change_id DESC, detected_at);
        CREATE INDEX change_topics_change ON change_topics(change_id);
        -- one row per document and concept: the counted mentions of its latest version
        CREATE TABLE latest_mentions (
            document_id INTEGER NOT NULL REFERENCES documents(id),
            concept TEXT NOT NULL,
            source TEXT NOT NULL,           -- as documents.source
            date INTEGER,                   -- its date (published, else first seen), seconds
                                            -- since 1970 UTC
            mentions INTEGER NOT NULL       -- SUM(mentions) of its counted mention_counts
        );
        CREATE INDEX latest_mentions_concept
            ON latest_mentions(concept, date, source, mentions);
        -- a timeline of one source, or split by source
        CREATE INDEX latest_mentions_source
            ON latest_mentions(concept, source, date, mentions);
        CREATE INDEX latest_mentions_document ON latest_mentions(document_id);
        """
    )
    fill_change_topics(db)
    fill_latest_mentions(db)


@migrations()
def m012_outbox_events(db: Database) -> None:
    """The outbox holds what to send, and delivery renders it (monitor/alerts/delivery.py)."""
    db.executescript(
        """
        -- the event a row tells of, as versioned JSON (monitor/store/events.py); NULL for rows
        -- queued rendered (all rows before this migration). Until rendered_at is set, subject,
        -- text and payload hold '' and html NULL
        ALTER TABLE alerts ADD COLUMN event_json TEXT;
        -- when delivery first rendered the row (it claimed it); from then on its subject,
        -- text, html and payload stay as they are, so every attempt sends the same message
        ALTER TABLE alerts ADD COLUMN rendered_at TEXT;
        UPDATE alerts SET rendered_at = created_at;
        """
    )
