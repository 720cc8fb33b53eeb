"""What the tables and columns mean: one source for the README's "The database" section and
for Datasette's metadata (`monitor datasette`, store/datasette_meta.py).

`readme_text()` is that README section's table list, word for word (tests/test_datasette.py
keeps them equal). This module is mostly that declared text (TABLES, about 340 lines): a table
list split over several files would be harder to keep equal to the schema it describes.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    name: str
    description: str = ""  # Markdown-ish: `code` spans only


@dataclass(frozen=True)
class Table:
    name: str
    summary: str  # one clause, after the table's name
    columns: tuple[Column, ...]
    notes: str = ""  # sentences after the column list


C = Column

TABLES: tuple[Table, ...] = (
    Table(
        "sources",
        "one row per configured source",
        (
            C("name", "as in the config"),
            C("kind", "`feed`/`page`"),
            C("url"),
            C("title", "the feed's own title"),
            C("added_at"),
            C("last_attempt_at"),
            C("last_success_at"),
            C(
                "last_error",
                "why the last poll failed, or what was wrong with a feed that was still read; "
                "NULL after a clean success",
            ),
            C("last_error_at"),
            C("consecutive_failures"),
            C("failing_since", "when the current run of failures began"),
            C(
                "warning",
                "a problem that did not stop the polls: a document whose declared charset was "
                "wrong, naming the charset declared and the one used; NULL when none",
            ),
            C(
                "warning_url",
                "the document it is about; decoding that document right again clears it",
            ),
            C("warning_at"),
        ),
    ),
    Table(
        "fetches",
        "every HTTP attempt, retries included",
        (
            C("source"),
            C("url", "without credentials, as everywhere a URL is stored"),
            C("started_at"),
            C("status", "NULL when no response came"),
            C("bytes", "body bytes received"),
            C("elapsed_ms"),
            C("error", "NULL on success"),
        ),
    ),
    Table(
        "http_cache",
        "conditional-GET validators per URL",
        (
            C("url"),
            C("etag", "sent back as `If-None-Match`"),
            C("last_modified", "sent back as `If-Modified-Since`"),
            C("updated_at"),
            C(
                "body_hash",
                "sha256 of the last body of this address that was fully handled: the same body "
                "again (a source without validators, a server that answers 200 anyway) is "
                "neither parsed nor extracted",
            ),
        ),
    ),
    Table(
        "documents",
        "one row per canonical URL",
        (
            C("url", "canonical"),
            C("link", "as the feed gave it"),
            C("source"),
            C(
                "kind",
                "`entry`: only the feed's title and summary; `article`: the followed page; "
                "`page`: a watched URL",
            ),
            C("title"),
            C("summary"),
            C("published_at", "UTC, when known"),
            C("published_raw", "the date as the feed wrote it"),
            C("first_seen_at"),
            C("last_checked_at"),
            C("last_error", "why its article could not be fetched or extracted"),
            C("failures", "failed article fetches in a row; 3 means given up"),
            C("series", "the series it is an edition of, if any"),
            C("series_placed", "1 once it was compared with its neighbours in the series"),
            C(
                "entry_hash",
                "sha256 of its feed entry's title, summary and link as last stored: the same "
                "entry again is not written again",
            ),
        ),
        "Local documents stored with `monitor add` have kind `file`, source `local` and a "
        "`file://` URL.",
    ),
    Table(
        "versions",
        "the text of a document each time it changed",
        (
            C("document_id"),
            C("fetched_at"),
            C("content_hash", "sha256 of the normalised text"),
            C("title"),
            C("text", "the extracted text, paragraphs separated by blank lines"),
            C("words"),
            C(
                "method",
                "how the text was obtained: `trafilatura`, or its fallbacks "
                "`trafilatura-recall` and `baseline`; `pdfium` for PDF; `plain` for text; "
                "`markdown`; `feed` for an entry's title and summary",
            ),
            C("content_type"),
            C("final_url", "after redirects"),
            C(
                "body_hash",
                "the fetched body it was extracted from, in `bodies`; NULL for feed text",
            ),
            C("raw_bytes", "that body's size"),
            C(
                "limits",
                "the storage limits the version hit, in words, e.g. `cvid: 12,000 mentions, "
                "1,000 stored ([storage].max_mentions = 1,000)`; NULL when none; see "
                '"Bounded mentions and search"',
            ),
        ),
        "`versions_fts` is its full-text index (FTS5, `unicode61 remove_diacritics 2`, kept "
        "current by triggers); for Korean, search with a prefix (`비핵화*`), which `monitor "
        "search` adds for you, and so does Datasette's search box with `monitor datasette`.",
    ),
    Table(
        "bodies",
        "every fetched body behind a version, stored once",
        (
            C("hash", "sha256 of the body as fetched"),
            C("bytes", "its size"),
            C(
                "base",
                "the body whose content was the zstd dictionary: the document's first body, for "
                "its later ones; NULL when compressed alone",
            ),
            C("data", "zstd, level 3"),
        ),
        "Read a body back with `monitor.store.raw_body(db, version_id)`; the same body fetched "
        "for two versions or two documents is one row.",
    ),
    Table(
        "mentions",
        "every concept match in a version",
        (
            C("version_id"),
            C("document_id"),
            C("concept", "id from the config"),
            C("variant", "the spelling that matched, as written"),
            C(
                "excerpt",
                "its sentence, tidied; at most about 300 characters of it, centred on the "
                "match and cut at words, with … where cut",
            ),
            C(
                "sentence_start",
                "the sentence's start offset in `versions.text`: `substr(v.text, "
                "sentence_start + 1, sentence_end - sentence_start)` is the whole sentence, or "
                "the `[storage].max_sentence` characters of a longer one around the match; "
                "NULL for a row converted from an older release whose sentence could not be "
                "located",
            ),
            C("sentence_end", "the sentence's end offset, as `sentence_start`"),
            C("position", "character offset of the match in `versions.text`"),
            C("length"),
            C(
                "reason",
                "why it was set aside: `excluded`, `negated`, `reported`, `other-target`, "
                "`no-target`; NULL when relevant",
            ),
            C("counted", "1 when it counts in verdicts, the digest and timelines"),
            C("facets", 'JSON `{"object": ["dprk"]}`, or NULL'),
        ),
        "At most `[storage].max_mentions` rows per version, concept and reason; "
        "`mention_counts` has the true numbers.",
    ),
    Table(
        "mention_counts",
        "how many mentions each version has, however many are stored",
        (
            C("version_id"),
            C("document_id"),
            C("concept"),
            C("reason", "as in `mentions`"),
            C("counted", "as in `mentions`"),
            C("mentions", "how many were found"),
            C(
                "stored",
                "how many of them are rows of `mentions`; fewer only when the version hit "
                "`max_mentions`",
            ),
        ),
        "Count with `SUM(mentions)` here, not `COUNT(*)` on `mentions`.",
    ),
    Table(
        "latest_mentions",
        "one row per document and concept with the counted mentions of the document's latest "
        "version, kept in step with every new version, which `monitor timeline` reads",
        (
            C("document_id"),
            C("concept"),
            C("source", "as in `documents`"),
            C(
                "date",
                "the document's date (published, else first seen) in seconds since 1970 UTC: "
                "`datetime(date, 'unixepoch')`",
            ),
            C("mentions", "`SUM(mentions)` of its counted rows of `mention_counts`"),
        ),
    ),
    Table(
        "changes",
        "every wording change found",
        (
            C(
                "kind",
                "`revision`: the same URL changed; `succession`: a new member of a series "
                "against the previous one; `baseline`: against the series' baseline",
            ),
            C("document_id", "the newer side"),
            C("version_id", "the newer side"),
            C("old_version_id", "the older side"),
            C("series"),
            C("detected_at"),
            C("significance", '0 to 1, see "Wording changes"'),
            C("verdict", "the one-line summary"),
            C(
                "comparison",
                "JSON, exactly what `monitor compare --json` prints for the two versions; "
                "query it with SQLite's JSON functions",
            ),
            C(
                "superseded_at",
                "when an edition placed between the two sides of a succession made it "
                "obsolete; NULL for a current change",
            ),
            C(
                "superseded_by",
                "the succession stored in its place: from that edition to the later side, "
                "else from the earlier side to it; NULL when neither differed",
            ),
        ),
    ),
    Table(
        "change_concepts",
        "one row per concept a change compared (its `comparison` JSON's `concepts`), so "
        "changes are found by concept or status through an index",
        (
            C("change_id"),
            C("concept", "concept id from the config"),
            C("status", "`dropped`, `introduced`, `increased`, `decreased` or `unchanged`"),
            C("old_count", "counted mentions in the older version"),
            C("new_count", "and in the newer"),
            C("superseded", "1 when it was dropped because its ladder moved up past it"),
        ),
    ),
    Table(
        "change_qualifiers",
        "one row per facet of a concept a change compared (the JSON's `qualifiers`)",
        (
            C("change_id"),
            C("concept"),
            C("facet"),
            C("status", "`kept`, `changed`, `introduced` or `dropped`"),
        ),
    ),
    Table(
        "change_moves",
        "one row per ladder a change compared (the JSON's `stance`)",
        (
            C("change_id"),
            C("ladder", "ladder id from the config"),
            C("old", "its strongest concept before; NULL when none"),
            C("new", "and after"),
            C("move", "`downgrade`, `upgrade` or `same`"),
        ),
        "`monitor changes --concept` reads these three tables, not the JSON.",
    ),
    Table(
        "change_topics",
        "one row per concept a change involves: its count moved, a facet of it moved, or a "
        "ladder moved from or to it (from the three tables above), so `monitor changes "
        "--concept` and `--status` read a concept's changes most significant first through an "
        "index",
        (
            C("change_id"),
            C("concept", "concept id from the config"),
            C("status", "its status in `change_concepts`; NULL when it is not listed there"),
            C("significance", "as in `changes`"),
            C("current", "1 while the change is current (`changes.superseded_at` is NULL)"),
            C("detected_at", "as in `changes`"),
        ),
    ),
    Table(
        "alerts",
        "the outbox: every alert and digest message, sent or waiting",
        (
            C("dedup_key", "unique: one message per event and channel, ever"),
            C("event", "`change`, `article`, `source` or `digest`"),
            C("channel", "`email` or a webhook's name"),
            C("recipients", "JSON list"),
            C("subject", "as sent; '' until delivery first renders the row (`rendered_at`)"),
            C("text", "the plain-text body; '' until rendered"),
            C("html", "the HTML body; NULL until rendered"),
            C("payload", "the webhook's JSON body; '' until rendered"),
            C("created_at"),
            C(
                "status",
                "`pending`; `sending` while a delivery run holds it; `sent`; `failed` after "
                "`max_attempts`; or `superseded`, withdrawn unsent because its change was "
                "superseded",
            ),
            C("attempts"),
            C("next_attempt_at"),
            C("last_error"),
            C("sent_at"),
            C("change_id", "the change an alert tells of; NULL for other events"),
            C(
                "claimed_by",
                "the token of the delivery run holding it while `sending`, else NULL",
            ),
            C("event_json", "the event as JSON, rendered at delivery; NULL: queued rendered"),
            C("rendered_at", "when first rendered; the message is frozen from then on"),
        ),
    ),
    Table(
        "jobs",
        "the service's jobs",
        (
            C("name", "`poll:<source>`, `deliver`, `digest`"),
            C("last_started_at"),
            C("last_success_at", "a start polls what is older than its interval"),
            C("last_error"),
        ),
    ),
    Table(
        "heartbeat",
        "one row while the service runs",
        (C("pid"), C("started_at"), C("beat_at", "`monitor health` wants this recent")),
    ),
)

# Markdown that would start a list, a quote or a heading at the start of a wrapped line.
_BLOCK_START = re.compile(r"^(?:[-+*>#|]|\d+[.)])(?:\s|$)")


def _column_text(column: Column) -> str:
    return f"`{column.name}`" + (f" ({column.description})" if column.description else "")


def table_text(table: Table) -> str:
    """One table's paragraph of the README, wrapped at 100 columns."""
    body = ", ".join(_column_text(c) for c in table.columns) + "."
    if table.notes:
        body += " " + table.notes
    lines = textwrap.wrap(body, 100, break_long_words=False, break_on_hyphens=False)
    for line in lines:
        if _BLOCK_START.match(line):
            raise ValueError(f"{table.name}: a wrapped line starts a Markdown block: {line!r}")
    return f"**`{table.name}`** — {table.summary}.\n" + "\n".join(lines)


def readme_text() -> str:
    """The README's table list under "## The database", paragraphs separated by blank lines."""
    return "\n\n".join(table_text(t) for t in TABLES)
