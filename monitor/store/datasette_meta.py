"""Datasette 0.65 metadata for the history (`monitor datasette`): the table descriptions of
store/catalog.py, the canned queries, and the full-text search set for the search box."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from monitor.store.catalog import TABLES


@dataclass(frozen=True)
class Query:
    name: str  # the canned query's address: /DATABASE/NAME
    title: str
    description: str
    sql: str


QUERIES: tuple[Query, ...] = (
    Query(
        "latest_changes",
        "Latest wording changes",
        "The current wording changes (superseded successions left out), newest first, as "
        "`monitor changes` lists them.",
        """SELECT c.id, c.detected_at, c.kind, d.title, d.url, c.significance, c.verdict
FROM changes c JOIN documents d ON d.id = c.document_id
WHERE c.superseded_at IS NULL
ORDER BY c.detected_at DESC, c.id DESC
LIMIT 200""",
    ),
    Query(
        "concept_timeline",
        "A concept's timeline",
        "Counted mentions of a concept per month (UTC), each document on its publication date "
        "(else when first seen) with its latest version, as `monitor timeline CONCEPT --by "
        "month` counts them. Give a concept id, e.g. `complete-denuclearization`.",
        """SELECT substr(COALESCE(d.published_at, d.first_seen_at), 1, 7) AS month,
  SUM(m.mentions) AS mentions, COUNT(DISTINCT d.id) AS documents
FROM documents d
JOIN mention_counts m ON m.version_id = (SELECT MAX(id) FROM versions WHERE document_id = d.id)
WHERE m.concept = :concept AND m.counted
GROUP BY month
ORDER BY month""",
    ),
    Query(
        "dropped_concepts",
        "Every dropped concept",
        "Each concept that a current wording change dropped (present before, absent now; not "
        "one an upgrade of its ladder replaced), with the first sentence that carried it.",
        """SELECT c.id AS change, c.detected_at, d.title, d.url,
  json_extract(k.value, '$.id') AS concept, json_extract(k.value, '$.old') AS old_count,
  json_extract(k.value, '$.evidence[0].old') AS sentence, c.verdict
FROM changes c JOIN documents d ON d.id = c.document_id,
  json_each(c.comparison, '$.concepts') k
WHERE c.superseded_at IS NULL
  AND json_extract(k.value, '$.status') = 'dropped'
  AND NOT coalesce(json_extract(k.value, '$.superseded'), 0)
ORDER BY c.detected_at DESC, c.id DESC""",
    ),
    Query(
        "document_versions",
        "A document's versions",
        "Every stored version of a document, oldest first, with the mentions that count per "
        "concept, as `monitor show URL` lists them. Give its URL (canonical or as the feed "
        "gave it).",
        """SELECT v.id, v.fetched_at, v.title, v.words, v.method, v.content_hash,
  (SELECT group_concat(concept || ' ' || n, ', ') FROM (
     SELECT concept, SUM(mentions) AS n FROM mention_counts
     WHERE version_id = v.id AND counted GROUP BY concept ORDER BY concept)) AS concepts,
  v.limits
FROM versions v JOIN documents d ON d.id = v.document_id
WHERE d.url = :url OR d.link = :url
ORDER BY v.id""",
    ),
)


def _plain(text: str) -> str:
    return text.replace("`", "")


def _html(text: str) -> str:
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text, quote=False))


def datasette_metadata(database: str) -> dict[str, Any]:
    """Datasette 0.65 metadata (`datasette DB -m FILE`) for the history named `database` (the
    file name without `.db`): descriptions, canned queries, and raw search on `versions`, so
    that FTS5 syntax (`비핵화*`, `"extended deterrence"`) works in its search box."""
    tables: dict[str, Any] = {}
    for table in TABLES:
        about = f"{table.summary[0].upper()}{table.summary[1:]}."
        if table.notes:
            about += " " + table.notes
        tables[table.name] = {
            "description_html": _html(about),
            "columns": {c.name: _plain(c.description) for c in table.columns if c.description},
        }
    tables["versions"] |= {"fts_table": "versions_fts", "fts_pk": "id", "searchmode": "raw"}
    return {
        "title": "monitor",
        "description_html": _html(
            "The wording history that monitor keeps: see the README's "
            '"The database" section, or the canned queries below.'
        ),
        "databases": {
            database: {
                "tables": tables,
                "queries": {
                    q.name: {
                        "title": q.title,
                        "description_html": _html(q.description),
                        "sql": q.sql,
                    }
                    for q in QUERIES
                },
            }
        },
    }
