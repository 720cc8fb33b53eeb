"""Queries that stay fast as the history grows (issue 11): search picks the documents to show
without grouping every hit, yet exactly as grouping did; changes by concept and status read the
change index, not the JSON; every lookup by URL, source or date uses an index.

The histories are real SQLite files written through the store's own functions."""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlite_utils import Database

from monitor import store
from monitor.models import ChangeRecord, Extracted, FeedEntry, Processed
from monitor.store import queries
from monitor.timeline import timeline

WORDS = ("alpha", "beta", "gamma", "delta", "north", "korea", "비핵화를", "비핵화는", "war")
START = datetime(2024, 1, 1, tzinfo=UTC)


def _processed(text: str) -> Processed:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Processed(Extracted(text, None), digest)


def _history(path: Path, seed: int, *, dates_follow_ids: bool) -> Database:
    """60 documents, 200 versions: each step a new document or a revision of any earlier one;
    publication dates follow the order documents arrive in, or not at all."""
    rng = random.Random(seed)
    db = store.open_db(path)
    urls: list[str] = []
    for step in range(200):
        if len(urls) < 60 and (not urls or rng.random() < 0.4):
            urls.append(f"http://x/{len(urls)}")
            url, new = urls[-1], True
        else:
            url, new = rng.choice(urls), False
        text = " ".join(rng.choices(WORDS, weights=(30, 10, 3, 1, 8, 8, 4, 2, 1), k=12))
        entry = None
        if new and rng.random() < 0.9:  # else undated: first_seen_at counts
            offset = len(urls) if dates_follow_ids else rng.randrange(10_000)
            published = START + timedelta(hours=offset, seconds=step)
            entry = FeedEntry(url, url, "t", "", published, published.isoformat())
        store.save_document(
            db,
            source="s",
            url=url,
            link=url,
            kind="article",
            processed=_processed(f"{text} {step}"),
            entry=entry,
        )
    return db


def _grouped(db: Database, match: str, since: str | None, limit: int) -> list[tuple[int, int]]:
    """What search chose before issue 11: every hit grouped by document."""
    where, params = "", [match]
    if since is not None:
        where, params = "WHERE COALESCE(d.published_at, d.first_seen_at) >= ?", [match, since]
    rows = db.execute(
        f"""WITH hits AS (SELECT v.document_id, MAX(v.id) AS version_id
            FROM versions_fts JOIN versions v ON v.id = versions_fts.rowid
            WHERE versions_fts MATCH ? GROUP BY v.document_id)
        SELECT d.id, hits.version_id FROM hits JOIN documents d ON d.id = hits.document_id
        {where} ORDER BY COALESCE(d.published_at, d.first_seen_at) DESC, d.id DESC LIMIT ?""",
        [*params, limit],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


@pytest.mark.parametrize("dates_follow_ids", [True, False])
@pytest.mark.parametrize("steps", [(3, 2), (200, 200)])
def test_search_chooses_what_grouping_every_hit_chose(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    dates_follow_ids: bool,
    steps: tuple[int, int],
) -> None:
    # Small steps read the hits in many steps and check older versions directly.
    monkeypatch.setattr(queries, "BATCH", steps[0])
    monkeypatch.setattr(queries, "UNREAD", steps[1])
    db = _history(tmp_path / "h.db", 7, dates_follow_ids=dates_follow_ids)
    since_values = [
        None,
        store.iso(START + timedelta(hours=30)),
        store.iso(START + timedelta(days=9)),
    ]
    for query in (
        "alpha",
        "beta",
        "gamma",
        "delta",
        "north korea",
        '"north korea"',
        "비핵화",
        "war",
    ):
        match = queries.fts_query(query)
        for since in since_values:
            for limit in (1, 5, 50):
                assert queries._newest_documents(db, match, since, limit) == _grouped(
                    db, match, since, limit
                ), (query, since, limit)


def test_search_keeps_its_limit_and_since(tmp_path: Path) -> None:
    db = _history(tmp_path / "h.db", 3, dates_follow_ids=True)
    hits = store.search(db, "alpha", limit=5)
    newest = _grouped(db, queries.fts_query("alpha"), None, 5)
    urls = [
        db.execute("SELECT url FROM documents WHERE id = ?", [d]).fetchone()[0] for d, _ in newest
    ]
    assert [h.url for h in hits] == urls[::-1]  # the newest 5, newest last
    since = START + timedelta(hours=50)
    found = store.search(db, "alpha", since)
    assert found and all(h.published is None or h.published >= store.iso(since) for h in found)


def _comparison(concept: str, status: str, ladder_old: str | None, ladder_new: str | None) -> dict:
    return {
        "summary": "s",
        "concepts": [
            {"id": concept, "old": 1, "new": 0, "status": status, "superseded": False},
            {"id": "other", "old": 1, "new": 1, "status": "unchanged", "superseded": False},
        ],
        "qualifiers": [{"concept": "q-concept", "facet": "object", "status": "changed"}],
        "stance": [
            {
                "ladder": "goal",
                "old": ladder_old,
                "new": ladder_new,
                "move": "same" if ladder_old == ladder_new else "downgrade",
            }
        ],
    }


def _with_changes(path: Path) -> Database:
    db = store.open_db(path)
    cases = [
        ("cvid", "dropped", "cvid", "denuclearization"),
        ("denuclearization", "increased", None, None),
        ("other", "unchanged", "ladder-only", "ladder-only"),
        ("complete-denuclearization", "introduced", "x", "complete-denuclearization"),
    ]
    for n, case in enumerate(cases):
        url = f"http://x/{n}"
        for version in range(2):
            changes: tuple[ChangeRecord, ...] = ()
            if version:
                old = store.recent_versions(db, url)[0].id
                changes = (ChangeRecord("revision", old, None, 0.1 * n, "v", _comparison(*case)),)
            store.save_document(
                db,
                source="s",
                url=url,
                link=url,
                kind="article",
                processed=_processed(f"text {n} {version}"),
                changes=changes,
            )
    return db


def test_changes_by_concept_and_status_read_the_change_index(tmp_path: Path) -> None:
    db = _with_changes(tmp_path / "c.db")

    def urls(**kw: object) -> list[str]:
        return [c.url for c in store.list_changes(db, **kw)]  # type: ignore[arg-type]

    assert urls(concept="cvid") == ["http://x/0"]  # dropped, and the old rung of a move
    assert urls(concept="denuclearization") == ["http://x/1", "http://x/0"]  # the new rung
    assert urls(concept="other") == []  # unchanged; its ladder did not move
    assert urls(concept="q-concept") == ["http://x/3", "http://x/2", "http://x/1", "http://x/0"]
    assert urls(concept="complete-denuclearization") == ["http://x/3"]
    assert urls(status="dropped") == ["http://x/0"]
    assert urls(status="introduced", concept="complete-denuclearization") == ["http://x/3"]
    # with a concept, the status is that concept's: x/0 dropped cvid, not denuclearization
    assert urls(status="dropped", concept="denuclearization") == []
    assert urls(status="dropped", concept="cvid") == ["http://x/0"]


def test_m009_fills_the_change_index_as_the_store_writes_it(tmp_path: Path) -> None:
    written = _with_changes(tmp_path / "c.db")
    tables = ("change_concepts", "change_qualifiers", "change_moves")
    rows = {t: written.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}
    assert all(rows.values())
    for table in tables:
        written.execute(f"DELETE FROM {table}")
    written.execute("DROP TABLE change_concepts")
    written.execute("DROP TABLE change_qualifiers")
    written.execute("DROP TABLE change_moves")
    for index in (
        "documents_link",
        "documents_date",
        "documents_first_seen",
        "changes_significance",
    ):
        written.execute(f"DROP INDEX {index}")
    written.execute("DELETE FROM _sqlite_migrations WHERE name = 'm009_change_index'")
    written.conn.commit()
    written.close()
    again = store.open_db(tmp_path / "c.db")
    assert {
        t: again.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables
    } == rows
    assert [h.url for h in store.search(again, "text")] == [f"http://x/{n}" for n in range(4)]
    assert (
        "prefix='2 3'"
        in again.execute("SELECT sql FROM sqlite_master WHERE name = 'versions_fts'").fetchone()[0]
    )


LARGE = {"documents", "versions", "changes", "mentions", "mention_counts"} | {
    "change_concepts",
    "change_qualifiers",
    "change_moves",
}


def _plans(db: Database, run: Callable[[], object]) -> list[tuple[str, list[str]]]:
    """Each statement `run` executes, with its query plan."""
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        run()
    finally:
        db.conn.set_trace_callback(None)
    plans = []
    for sql in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        plan = [r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()]
        plans.append((sql, plan))
    return plans


def test_lookups_by_url_source_date_and_concept_use_an_index(tmp_path: Path) -> None:
    db = _with_changes(tmp_path / "c.db")
    since = START
    runs: dict[str, Callable[[], object]] = {
        "show": lambda: store.history(db, "http://x/1", "http://x/1"),
        "sources": lambda: store.source_health(db, ["s"]),
        "search --since": lambda: store.search(db, "text", since, limit=1),
        "changes --concept": lambda: store.list_changes(db, concept="cvid"),
        "changes --status": lambda: store.list_changes(db, status="dropped"),
        "timeline": lambda: timeline(db, "cvid", by="month", timezone="Asia/Seoul"),
        "timeline --source": lambda: store.mention_dates(db, None, "s", since),
        "digest articles": lambda: store.articles_between(db, since, since + timedelta(days=999)),
    }
    scans = []
    for name, run in runs.items():
        plans = _plans(db, run)
        assert plans, name
        for sql, plan in plans:
            for step in plan:
                found = re.match(r"SCAN (\w+)", step)
                if found and found[1] in LARGE | {"c", "d", "v", "m", "w"}:
                    scans.append((name, step, " ".join(sql.split())[:160]))
    assert scans == []


def test_the_change_index_is_in_the_readme_catalog() -> None:
    from monitor.store.catalog import TABLES

    names = {t.name: {c.name for c in t.columns} for t in TABLES}
    assert names["change_concepts"] == {
        "change_id",
        "concept",
        "status",
        "old_count",
        "new_count",
        "superseded",
    }
    assert names["change_qualifiers"] == {"change_id", "concept", "facet", "status"}
    assert names["change_moves"] == {"change_id", "ladder", "old", "new", "move"}
