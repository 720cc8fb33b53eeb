"""Loading a history at once (monitor.store.bulk): the full-text index built in a second process
is the index a rebuild makes, and the indexes and triggers come back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from monitor import store
from monitor.store import bulk

WORDS = (
    "the president spoke of sanctions and denuclearization",
    "북한의 완전한 비핵화 한반도 평화",
    "ballistic missile launch near Pyongyang",
    "extended deterrence and the armistice",
)
QUERIES = ("sanctions", "비핵화", "missile launch", '"extended deterrence"', "deter*", "북*")


def _load(path: Path, *, workers: int, versions: int = 300) -> None:
    db = store.open_db(path)
    replay = bulk.begin(db)
    fulltext = bulk.FullText(db, path.with_suffix(".fts"), workers=workers) if workers else None
    documents, rows = [], []
    for n in range(1, versions + 1):
        url = f"https://x.example/{n}"
        documents.append((n, url, url, "s", "article", f"title {n}", None, "2021", "2021"))
        text = " ".join(WORDS[(n * k) % len(WORDS)] for k in range(1, 6))
        rows.append((n, n, "2021-01-01T00:00:00+00:00", f"{n}", f"title {n}", text, 9, "t"))
    bulk.add_documents(db, documents)
    for start in range(0, versions, 100):  # in batches, as history.py sends them
        batch = rows[start : start + 100]
        bulk.add_versions(db, batch, [], [])
        if fulltext is not None:
            fulltext.add([(r[0], r[4], r[5]) for r in batch])
    bulk.finish(db, replay, fulltext)
    db.close()


def _schema(db: Database) -> list[tuple[str, str, str]]:
    return db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()


@pytest.mark.parametrize("workers", [1, 2])
def test_full_text_built_aside_is_the_rebuilt_index(tmp_path: Path, workers: int) -> None:
    rebuilt, aside = tmp_path / "rebuilt.db", tmp_path / "aside.db"
    _load(rebuilt, workers=0)
    _load(aside, workers=workers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aside.db", "rebuilt.db"]
    with store.opened(rebuilt, read_only=True) as a, store.opened(aside, read_only=True) as b:
        assert _schema(a) == _schema(b)
        assert {r[1] for r in _schema(b) if r[0] == "trigger"} >= {"versions_ai", "versions_au"}
        match = (
            "SELECT rowid, round(bm25(versions_fts), 9) FROM versions_fts "
            "WHERE versions_fts MATCH ? ORDER BY rowid"
        )
        for q in QUERIES:
            found = b.execute(match, [q]).fetchall()
            assert found, q
            assert a.execute(match, [q]).fetchall() == found
            assert store.search(a, q) == store.search(b, q)
        # the build's own settings stay behind
        assert b.execute("SELECT k FROM versions_fts_config").fetchall() == [("version",)]
    conn = sqlite3.connect(aside)
    conn.execute("INSERT INTO versions_fts (versions_fts, rank) VALUES ('integrity-check', 1)")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # and the triggers keep it in step again
    conn.execute("UPDATE versions SET text = 'armistice only' WHERE id = 1")
    conn.commit()
    conn.execute("INSERT INTO versions_fts (versions_fts, rank) VALUES ('integrity-check', 1)")
    conn.close()
