"""The SQLite history: versions by content hash, raw bodies, full-text search in two languages."""

from __future__ import annotations

import hashlib
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

from monitor import store
from monitor.models import Extracted, Mention, Processed, StoreLimits
from tests.events import feed_entry, save_arrival


def _processed(
    text: str, mentions: tuple[Mention, ...] = (), raw: bytes | None = None
) -> Processed:
    digest = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
    packed = store.pack(raw) if raw is not None else None
    return Processed(
        Extracted(text, "A title"),
        digest,
        mentions,
        packed,
        len(raw) if raw is not None else None,
        store.body_hash(raw) if raw is not None else None,
    )


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return store.open_db(tmp_path / "m.db")


def test_database_is_wal_and_migrations_are_idempotent(tmp_path: Path) -> None:
    first = store.open_db(tmp_path / "m.db")
    assert first.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    first.close()
    again = store.open_db(tmp_path / "m.db")
    applied = [r[0] for r in again.execute("SELECT name FROM _sqlite_migrations")]
    assert applied == [
        "m001_initial",
        "m002_changes",
        "m003_alerts",
        "m004_relevance",
        "m005_superseded",
        "m006_claims",
        "m007_source_warning",
        "m008_mention_offsets",
        "m009_change_index",
        "m010_bodies",
        "m011_aggregates",
        "m012_outbox_events",
    ]
    assert store.migrations.pending(again) == []
    assert {"sources", "fetches", "documents", "versions", "mentions", "http_cache"} <= set(
        again.table_names()
    )


def test_a_version_is_stored_only_when_the_normalised_text_changes(db: Database) -> None:
    mention = Mention("denuclearization", "denuclearization", "We seek denuclearization.", 8, 24)
    first = save_arrival(
        db,
        "http://x/a",
        _processed("We seek denuclearization.", (mention,), b"<p>raw</p>"),
        link="http://x/a?utm_source=rss",
    )
    assert (first.new_document, first.new_version, first.mentions) == (True, True, 1)
    same = save_arrival(db, "http://x/a", _processed("We  seek\ndenuclearization."))
    assert (same.new_document, same.new_version) == (False, False)
    changed = save_arrival(db, "http://x/a", _processed("We seek arms control."))
    assert changed.new_version
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 2
    assert db.execute("SELECT position, length, excerpt FROM mentions").fetchall() == [
        (8, 16, "We seek denuclearization.")
    ]


def test_raw_body_is_kept_compressed_and_comes_back(db: Database) -> None:
    raw = ("<html><body>" + "<p>비핵화를 논의했다.</p>" * 500 + "</body></html>").encode()
    save_arrival(db, "http://x/k", _processed("비핵화를 논의했다.", raw=raw), kind="page")
    version_id, stored, size = db.execute(
        "SELECT v.id, length(b.data), v.raw_bytes FROM versions v "
        "JOIN bodies b ON b.hash = v.body_hash"
    ).fetchone()
    assert size == len(raw)
    assert stored < len(raw) / 10
    assert store.raw_body(db, version_id) == raw


def test_a_body_is_stored_once_and_later_bodies_against_the_first(db: Database) -> None:
    words = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(400)]
    paragraphs = "".join(f"<p>Paragraph {i}: {w}</p>" for i, w in enumerate(words))
    page = f"<html><body>{paragraphs}</body></html>".encode()
    edited = page.replace(b"Paragraph 7:", b"Paragraph seven:")

    def save(url: str, text: str, body: bytes) -> None:
        processed = _processed(text, raw=body)
        save_arrival(db, url, processed, kind="page")

    save("http://x/a", "first", page)
    save("http://x/a", "second", edited)
    save("http://x/b", "the same body elsewhere", page)
    assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 3
    rows = db.execute("SELECT hash, base, length(data) FROM bodies ORDER BY rowid").fetchall()
    assert [r[0] for r in rows] == [store.body_hash(page), store.body_hash(edited)]
    assert rows[0][1] is None and rows[1][1] == rows[0][0]  # the edit against the first
    assert rows[1][2] < rows[0][2] / 5
    ids = [r[0] for r in db.execute("SELECT id FROM versions ORDER BY id")]
    assert [store.raw_body(db, i) for i in ids] == [page, edited, page]


def test_the_migration_moves_zlib_bodies_into_bodies_and_reads_them_back(tmp_path: Path) -> None:
    old = Database(tmp_path / "old.db")
    store.migrations.apply(old, stop_before="m010_bodies")
    old.execute(
        "INSERT INTO documents (id, url, link, source, kind, first_seen_at, last_checked_at) "
        "VALUES (1, 'http://x/a', 'http://x/a', 's', 'page', 'now', 'now'), "
        "(2, 'http://x/b', 'http://x/b', 's', 'page', 'now', 'now')"
    )
    bodies = [
        ("<p>" + "Talks on denuclearization. " * 300 + "</p>").encode(),
        ("<p>" + "Talks on denuclearization. " * 300 + "Edited.</p>").encode(),
        "<p>한국어 본문</p>".encode(),
    ]
    for version_id, (document_id, body) in enumerate(
        [(1, bodies[0]), (1, bodies[1]), (2, bodies[0]), (2, bodies[2])], start=1
    ):
        old.execute(
            "INSERT INTO versions (id, document_id, fetched_at, content_hash, text, words, "
            "method, raw, raw_bytes) VALUES (?, ?, 'now', ?, 't', 1, 'trafilatura', ?, ?)",
            [version_id, document_id, str(version_id), zlib.compress(body, 1), len(body)],
        )
    old.execute(
        "INSERT INTO versions (id, document_id, fetched_at, content_hash, text, words, method) "
        "VALUES (5, 1, 'now', 'feed', 'feed text', 2, 'feed')"
    )
    # a damaged body: dropped with a warning, its version and text kept
    old.execute(
        "INSERT INTO versions (id, document_id, fetched_at, content_hash, text, words, method, "
        "raw, raw_bytes) VALUES (6, 2, 'now', '6', 'damaged body', 2, 'trafilatura', ?, 9)",
        [b"not zlib"],
    )
    old.conn.commit()
    fts = old.execute("SELECT COUNT(*) FROM versions_fts_data").fetchone()[0]
    old.close()
    db = store.open_db(tmp_path / "old.db")
    assert "raw" not in db.table("versions").columns_dict
    expected = [bodies[0], bodies[1], bodies[0], bodies[2], None, None]
    assert [store.raw_body(db, i) for i in range(1, 7)] == expected
    assert [r[0] for r in db.execute("SELECT id FROM versions ORDER BY id")] == [1, 2, 3, 4, 5, 6]
    # setting body_hash re-indexed no version's words: the index's data is as it was
    assert db.execute("SELECT COUNT(*) FROM versions_fts_data").fetchone()[0] == fts
    db.execute("INSERT INTO versions_fts (versions_fts) VALUES ('integrity-check')")
    assert [h.url for h in store.search(db, "damaged")] == ["http://x/b"]
    assert db.execute("SELECT COUNT(*) FROM bodies").fetchone()[0] == 3
    base = db.execute(
        "SELECT base FROM bodies WHERE hash = ?", [store.body_hash(bodies[1])]
    ).fetchone()[0]
    assert base == store.body_hash(bodies[0])


def test_search_finds_korean_with_particles_and_english_prefixes_with_a_star(db: Database) -> None:
    when = datetime(2025, 3, 1, tzinfo=UTC)
    save_arrival(
        db,
        "http://x/ko",
        _processed("정부는 북한의 완전한 비핵화를 촉구했다. 확장억제 강화도 논의했다."),
        source="ko",
        entry=feed_entry("http://x/ko", "한미 정상회담", when),
    )
    save_arrival(
        db,
        "http://x/en",
        _processed("The allies reaffirmed the complete denuclearization of the Korean Peninsula."),
        source="en",
        entry=feed_entry("http://x/en", "Joint statement", datetime(2023, 4, 26, tzinfo=UTC)),
    )
    hits = store.search(db, "비핵화")
    assert [h.url for h in hits] == ["http://x/ko"]
    assert "[비핵화를]" in hits[0].snippet
    assert store.search(db, "denuclear") == []  # a word, not a prefix
    assert [h.url for h in store.search(db, "denuclear*")] == ["http://x/en"]
    assert [h.url for h in store.search(db, '"complete denuclearization"')] == ["http://x/en"]
    assert store.search(db, '"denuclearization complete"') == []
    assert [h.url for h in store.search(db, "비핵화", since=datetime(2025, 1, 1, tzinfo=UTC))] == [
        "http://x/ko"
    ]
    assert store.search(db, "denuclear*", since=datetime(2025, 1, 1, tzinfo=UTC)) == []


def test_search_survives_what_people_type(db: Database) -> None:
    for query in ['"quoted', "AND", "minister's", "freeze-for-freeze", "NOT OR", "*", "()"]:
        store.search(db, query)


def test_search_results_are_newest_last(db: Database) -> None:
    for day in (3, 1, 2):
        url = f"http://x/{day}"
        save_arrival(
            db,
            url,
            _processed(f"Sanctions story {day}."),
            entry=feed_entry(url, f"day {day}", datetime(2025, 1, day, tzinfo=UTC)),
        )
    assert [h.url for h in store.search(db, "sanctions")] == [
        "http://x/1",
        "http://x/2",
        "http://x/3",
    ]


def test_history_lists_versions_with_concept_counts(db: Database) -> None:
    for text, concepts in (("One CVID.", ("cvid",)), ("Two: CVID, CVID.", ("cvid", "cvid"))):
        mentions = tuple(Mention(c, "CVID", text, 0, 4) for c in concepts)
        save_arrival(
            db,
            "http://x/h",
            _processed(text, mentions),
            link="http://x/h?utm_medium=x",
            kind="page",
        )
    found = store.history(db, "http://x/h?utm_medium=x", "http://x/h")
    assert found is not None
    assert [v.concepts for v in found.versions] == [{"cvid": 1}, {"cvid": 2}]
    assert found.versions[0].id < found.versions[1].id
    assert store.history(db, "http://x/none", "http://x/none") is None


def test_a_failed_article_is_counted_in_the_same_transaction_and_owed(db: Database) -> None:
    entry = feed_entry("http://x/f", "An entry", datetime(2025, 3, 1, tzinfo=UTC))
    for attempt in (1, 2):
        save_arrival(
            db,
            "http://x/f",
            _processed("An entry"),
            kind="entry",
            entry=entry,
            failure=f"HTTP 500 ({attempt})",
        )
        assert store.entry_states(db, ["http://x/f", "http://x/other"]) == {
            "http://x/f": ("entry", attempt, entry.fingerprint)
        }
    owed = store.owed_entries(db, "s", 3)
    assert [(e.url, e.title, e.published) for e in owed] == [
        ("http://x/f", "A title", datetime(2025, 3, 1, tzinfo=UTC))
    ]
    assert store.owed_entries(db, "s", 2) == []  # two failures: given up at a limit of two
    store.give_up_article(db, "http://x/f", "disallowed by robots.txt", 3)
    assert store.owed_entries(db, "s", 3) == []
    save_arrival(db, "http://x/f", _processed("The article."))
    assert store.entry_states(db, ["http://x/f"]) == {
        "http://x/f": ("article", 0, entry.fingerprint)
    }


def test_the_migration_supersedes_successions_an_edition_was_placed_inside(tmp_path: Path) -> None:
    # What earlier releases stored when 2022 arrived after 2021 and 2023: 2021 -> 2023, then
    # 2021 -> 2022 and 2022 -> 2023, all current.
    db = Database(tmp_path / "old.db")
    store.migrations.apply(db, stop_before="m005_superseded")

    # Written as those releases wrote them (today's save_document also fills the change index
    # of m009, which this schema does not have yet).
    def edition(year: int, before: int | None = None, after: int | None = None) -> int:
        url = f"http://x/{year}"
        document = db.execute(
            "INSERT INTO documents (url, link, source, kind, first_seen_at, last_checked_at, "
            "series) VALUES (?, ?, 's', 'article', 'now', 'now', 's')",
            [url, url],
        ).lastrowid
        version = db.execute(
            "INSERT INTO versions (document_id, fetched_at, content_hash, text, words, method) "
            "VALUES (?, 'now', ?, ?, 2, 'feed')",
            [document, str(year), f"Statement of {year}."],
        ).lastrowid
        assert version is not None
        pairs = [(version, before)] if before else []
        for newer, older in [*pairs, *([(after, version)] if after else [])]:
            db.execute(
                "INSERT INTO changes (kind, document_id, version_id, old_version_id, series, "
                "detected_at, significance, verdict, comparison) VALUES ('succession', "
                "(SELECT document_id FROM versions WHERE id = ?), ?, ?, 's', 'now', 0.5, 'v', "
                """'{"concepts": [], "stance": []}')""",
                [newer, newer, older],
            )
        db.conn.commit()
        return version

    v2021 = edition(2021)
    v2023 = edition(2023, v2021)
    edition(2022, v2021, v2023)
    db.close()
    db = store.open_db(tmp_path / "old.db")
    rows = db.execute("SELECT id, superseded_by, superseded_at FROM changes ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(1, 3), (2, None), (3, None)]
    assert rows[0][2] is not None and rows[1][2] is None and rows[2][2] is None
    assert [c.id for c in store.list_changes(db)] == [3, 2]


def test_a_source_warning_is_kept_until_its_document_decodes_right(tmp_path: Path) -> None:
    old = Database(tmp_path / "old.db")
    store.migrations.apply(old, stop_before="m007_source_warning")
    old.execute(
        "INSERT INTO sources (name, kind, url, added_at) VALUES ('s', 'feed', 'http://x/f', 'now')"
    )
    old.conn.commit()
    old.close()
    db = store.open_db(tmp_path / "old.db")  # the migration adds the columns to the old row
    assert store.source_health(db, ["s"])[0].warning is None
    store.source_warning(db, "s", "http://x/a", "http://x/a: charset declared UTF-8 ...")
    store.source_warning(db, "s", "http://x/f", None)  # another document decoded right
    assert store.source_health(db, ["s"])[0].warning == "http://x/a: charset declared UTF-8 ..."
    store.source_warning(db, "s", "http://x/a", None)
    assert store.source_health(db, ["s"])[0].warning is None
    row = db.execute("SELECT warning_url, warning_at FROM sources").fetchone()
    assert row == (None, None)


def _cvid_page(words: int) -> tuple[str, tuple[Mention, ...]]:
    """A short sentence with one CVID, then one sentence of `words` CVIDs, and their mentions
    as the matcher gives them (the sentence as tidied, its offsets)."""
    text = "We want CVID. Pyongyang must accept " + " ".join(["CVID"] * words) + " now."
    long_start = text.index("Pyongyang")
    mentions = [Mention("cvid", "CVID", "We want CVID.", 8, 12, sentence_start=0, sentence_end=13)]
    at = text.index("CVID", long_start)
    while at >= 0:
        mentions.append(
            Mention(
                "cvid", "CVID", text[long_start:], at, at + 4, None, True, (), long_start, len(text)
            )
        )
        at = text.find("CVID", at + 4)
    mentions.append(Mention("cvid", "CVID", "We want CVID.", 8, 12, "negated", False, (), 0, 13))
    return text, tuple(mentions)


def test_mentions_store_offsets_a_capped_excerpt_and_true_counts(db: Database) -> None:
    text, mentions = _cvid_page(3_000)  # a 15,000-character sentence
    stored = save_arrival(
        db,
        "http://x/amp",
        _processed(text, mentions),
        limits=StoreLimits(max_mentions=100, max_sentence=1_000),
    )
    assert stored.mentions == 3_002
    rows = db.execute(
        "SELECT excerpt, sentence_start, sentence_end, position, reason FROM mentions ORDER BY id"
    ).fetchall()
    # At most 100 per concept and reason: 100 relevant ones (the short sentence's first), and
    # the one negated; the short sentence is stored whole, with offsets that slice it.
    assert len(rows) == 101 and [r[4] for r in rows].count("negated") == 1
    assert rows[0][:3] == ("We want CVID.", 0, 13) and text[0:13] == "We want CVID."
    for excerpt, start, end, position, _ in rows[1:100]:
        assert len(excerpt) <= 302 and "CVID" in excerpt and excerpt.startswith(("…", "Pyong"))
        assert excerpt.endswith("…") and " CVI…" not in excerpt and "…VID" not in excerpt
        assert end - start <= 1_000 and start <= position < end
    counts = db.execute(
        "SELECT reason, counted, mentions, stored FROM mention_counts ORDER BY reason"
    ).fetchall()
    assert counts == [(None, 1, 3_001, 100), ("negated", 0, 1, 1)]
    limits = db.execute("SELECT limits FROM versions").fetchone()[0]
    assert limits == stored.limits
    assert "cvid: 3,001 mentions, 100 stored ([storage].max_mentions = 100)" in limits
    longest = len(text) - text.index("Pyongyang")
    assert f"1 sentence(s) over 1,000 characters (the longest {longest:,})" in limits
    history = store.history(db, "http://x/amp", "http://x/amp")
    assert history is not None
    assert history.versions[0].concepts == {"cvid": 3_001}
    assert history.versions[0].set_aside == {"cvid": {"negated": 1}}
    assert history.versions[0].limits == limits
    [event] = store.articles_between(
        db, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    )
    assert event.mentions[0].sentence == "We want CVID."
    assert len(event.mentions) == 100 and event.count("cvid") == 3_001  # the digest's ×n
    assert all(len(m.sentence) <= 1_000 and "CVID" in m.sentence for m in event.mentions)
    assert [c.mentions for c in store.concept_summary(db)] == [3_001]


def test_a_normal_document_hits_no_limit(db: Database) -> None:
    text, mentions = _cvid_page(20)
    stored = save_arrival(db, "http://x/n", _processed(text, mentions))
    assert stored.limits is None
    assert db.execute("SELECT limits FROM versions").fetchone()[0] is None
    sentence = text[text.index("Pyongyang") :]
    rows = db.execute("SELECT excerpt, sentence_start, sentence_end FROM mentions").fetchall()
    assert len(rows) == 22 and rows[1] == (sentence, text.index("Pyongyang"), len(text))


def test_m008_turns_stored_sentences_into_offsets_and_excerpts(tmp_path: Path) -> None:
    db = Database(tmp_path / "old.db")
    store.migrations.apply(db, stop_before="m008_mention_offsets")
    text, _ = _cvid_page(200)
    long_start = text.index("Pyongyang")
    db.execute(
        "INSERT INTO documents (url, link, source, kind, first_seen_at, last_checked_at) "
        "VALUES ('http://x/o', 'http://x/o', 's', 'page', '2025-01-01', '2025-01-01')"
    )
    db.execute(
        "INSERT INTO versions (document_id, fetched_at, content_hash, text, words, method) "
        "VALUES (1, '2025-01-01', 'h', ?, 1, 'plain')",
        [text],
    )
    old = "INSERT INTO mentions (version_id, document_id, concept, variant, sentence, position, "
    old += "length, reason, counted) VALUES (1, 1, 'cvid', 'CVID', ?, ?, 4, ?, ?)"
    db.execute(old, ["We want CVID.", 8, None, 1])
    db.conn.executemany(
        old, [(text[long_start:], long_start + 22 + 5 * k, None, 1) for k in range(200)]
    )
    db.execute(old, ["An edited sentence " * 40 + "with CVID.", 8, "negated", 0])
    db.conn.commit()
    db.close()
    db = store.open_db(tmp_path / "old.db")
    rows = db.execute(
        "SELECT excerpt, sentence_start, sentence_end FROM mentions ORDER BY id"
    ).fetchall()
    assert rows[0] == ("We want CVID.", 0, 13)
    assert all(r[1:] == (long_start, len(text)) and len(r[0]) <= 302 for r in rows[1:201])
    assert rows[1][0].startswith("Pyongyang must accept CVID") and rows[1][0].endswith("…")
    # A sentence no longer found in the text keeps its words, shortened, without offsets.
    assert rows[201][1:] == (None, None) and len(rows[201][0]) <= 302
    assert rows[201][0].endswith("with CVID.") and rows[201][0].startswith("…")
    counts = db.execute(
        "SELECT reason, mentions, stored FROM mention_counts ORDER BY reason"
    ).fetchall()
    assert counts == [(None, 201, 201), ("negated", 1, 1)]


def test_search_builds_a_snippet_from_the_chunk_of_a_long_text(db: Database) -> None:
    filler = " ".join(f"word{k}" for k in range(8_000))
    text = filler + " the summit in Singapore " + filler
    save_arrival(db, "http://x/l", _processed(text), kind="page")
    [hit] = store.search(db, "summit")
    assert "[summit]" in hit.snippet and hit.snippet.startswith(" … ")
    assert hit.snippet.endswith(" … ") and len(hit.snippet) < 300
    assert store.search(db, '"singapore summit"') == []  # the rows that match stay the same
    assert [h.url for h in store.search(db, '"summit in"')] == ["http://x/l"]


def test_a_phrase_across_a_chunk_cut_still_gets_its_snippet(db: Database) -> None:
    for k in range(30):
        text = "a" * (1_940 + 4 * k) + " then the summit in Singapore " + "b " * 3_000
        url = f"http://x/{k}"
        save_arrival(db, url, _processed(text), kind="page")
    hits = store.search(db, '"summit in singapore"')
    assert len(hits) == 30
    assert all("[summit in Singapore]" in h.snippet for h in hits), [h.snippet for h in hits]
