"""Charsets checked, not trusted: a declared charset that is wrong is noticed, the text is read
with the right one and the source carries a warning naming both; right declarations pass.

Every case is served by a real HTTP server on loopback and polled into a real SQLite file. The
Korean text is the repository's own (tests/data/korean), re-encoded as each case needs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from sqlite_utils import Database

from monitor import store
from monitor.cli import main
from monitor.pipeline import poll
from tests.conftest import MakeSettings
from tests.servers import LocalServer, respond, sequence

DATA = Path(__file__).parent.parent / "data"
KCNA = (DATA / "korean" / "kcna_condemn.txt").read_text(encoding="utf-8")
EMBASSY = (DATA / "korean" / "embassy_cvid.txt").read_text(encoding="utf-8")
# words of the fixtures, as a search would look for them
KCNA_WORDS = ("비핵화", "조선중앙통신")
EMBASSY_WORDS = ("비핵화", "검증가능하며")


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def _feed(text: str, link: str, encoding: str) -> str:
    """An RSS feed of one article: its headline as the title, its first paragraphs as summary."""
    headline, *body = _paragraphs(text)
    summary = " ".join(body[:3])
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0"><channel><title>연합뉴스 북한</title>'
        "<link>http://127.0.0.1/</link><description>test</description>"
        f"<item><title>{escape(headline)}</title><link>{link}</link>"
        f"<description>{escape(summary)}</description>"
        "<pubDate>Mon, 03 Mar 2025 09:00:00 +0900</pubDate></item></channel></rss>"
    )


def _page(text: str, meta: str | None) -> str:
    headline, *body = _paragraphs(text)
    head = f'<meta charset="{meta}">' if meta else ""
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in body)
    return (
        f"<!DOCTYPE html><html lang='ko'><head>{head}<title>{escape(headline)}</title></head>"
        f"<body><nav><a href='/'>홈</a></nav><article><h1>{escape(headline)}</h1>"
        f"{paragraphs}</article></body></html>"
    )


def _texts(db: Database, source: str) -> str:
    rows = db.execute(
        "SELECT v.title, v.text FROM versions v JOIN documents d ON d.id = v.document_id "
        "WHERE d.source = ?",
        [source],
    ).fetchall()
    assert rows, f"nothing stored for {source}"
    return "\n".join(f"{title}\n{text}" for title, text in rows)


def _concepts(db: Database, source: str) -> set[str]:
    return {
        r[0]
        for r in db.execute(
            "SELECT m.concept FROM mentions m JOIN documents d ON d.id = m.document_id "
            "WHERE d.source = ?",
            [source],
        )
    }


def _warning(db: Database, source: str) -> str | None:
    row = db.execute("SELECT warning FROM sources WHERE name = ?", [source]).fetchone()
    return None if row is None else row[0]


def _found(db: Database, source: str, words: tuple[str, ...]) -> None:
    """The stored text holds the fixture's words (no mojibake), search finds them and the
    concept matcher counted them."""
    text = _texts(db, source)
    for word in words:
        assert word in text, f"{word} not in the stored text of {source}: {text[:200]!r}"
        assert any(hit.source == source for hit in store.search(db, word)), word
    assert "\ufffd" not in text and "Ã" not in text and "ë" not in text
    assert "denuclearization" in _concepts(db, source)


def test_feed_declared_utf8_whose_bytes_are_euc_kr(
    make_settings: MakeSettings, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = _feed(KCNA, "http://127.0.0.1/kcna/1", "UTF-8").encode("euc-kr")
    right = _feed(KCNA, "http://127.0.0.1/kcna/1", "UTF-8").encode("utf-8")
    header = {"Content-Type": "application/rss+xml; charset=UTF-8"}
    with LocalServer() as server:
        server.route(
            "/feed.xml", sequence(respond(200, wrong, header), respond(200, right, header))
        )
        settings = make_settings([{"name": "kcna", "kind": "feed", "url": server.url("/feed.xml")}])
        with store.open_db(settings.database) as db, caplog.at_level(logging.WARNING):
            summary = poll(settings, db)
            assert summary.errors == []
            _found(db, "kcna", KCNA_WORDS)
            warning = _warning(db, "kcna")
            assert warning is not None
            assert "UTF-8" in warning and "EUC-KR" in warning and "/feed.xml" in warning
            logged = [r for r in caplog.records if getattr(r, "event", None) == "charset"]
            assert len(logged) == 1 and "EUC-KR" in logged[0].getMessage()
            assert logged[0].__dict__["source"] == "kcna"

            poll(settings, db)  # the publisher fixed it: the warning goes
            assert _warning(db, "kcna") is None
            _found(db, "kcna", KCNA_WORDS)


@pytest.mark.parametrize("kind", ["text/html", "text/plain"])
def test_page_declared_iso_8859_1_whose_bytes_are_utf8(
    make_settings: MakeSettings, tmp_path: Path, kind: str
) -> None:
    text = _page(EMBASSY, "ISO-8859-1") if kind == "text/html" else EMBASSY
    body = text.encode("utf-8")
    with LocalServer() as server:
        server.route("/p", respond(200, body, {"Content-Type": f"{kind}; charset=ISO-8859-1"}))
        settings = make_settings([{"name": "embassy", "kind": "page", "url": server.url("/p")}])
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert summary.errors == []
            _found(db, "embassy", EMBASSY_WORDS)
            warning = _warning(db, "embassy")
            assert warning is not None and "ISO-8859-1" in warning and "UTF-8" in warning
        shown = _sources(tmp_path, settings.database, server.url("/p"))
        assert f"    warning: {warning}" in shown


def test_an_article_with_a_wrong_charset_warns_on_its_feeds_source(
    make_settings: MakeSettings,
) -> None:
    with LocalServer() as server:
        link = server.url("/a/1")
        feed = _feed(KCNA, link, "UTF-8").encode()
        article = _page(KCNA, "windows-1252").encode("utf-8")
        server.route("/feed.xml", respond(200, feed, {"Content-Type": "application/rss+xml"}))
        server.route("/a/1", respond(200, article, {"Content-Type": "text/html; charset=cp1252"}))
        settings = make_settings(
            [{"name": "kcna", "kind": "feed", "url": server.url("/feed.xml"), "follow": "all"}]
        )
        with store.open_db(settings.database) as db:
            assert poll(settings, db).errors == []
            kinds = [r[0] for r in db.execute("SELECT kind FROM documents")]
            assert kinds == ["article"]
            _found(db, "kcna", KCNA_WORDS)
            warning = _warning(db, "kcna")
            assert warning is not None and warning.startswith(f"{link}: ")
            assert "declared cp1252 (Content-Type)" in warning and "UTF-8" in warning


def test_correct_declarations_keep_their_text_and_warn_of_nothing(
    make_settings: MakeSettings,
) -> None:
    cases = {
        # EUC-KR declared in the header and the page; CP949 read it (its superset)
        "euckr": (_page(KCNA, "euc-kr").encode("euc-kr"), "text/html; charset=EUC-KR", KCNA_WORDS),
        "utf8": (_page(EMBASSY, "utf-8").encode(), "text/html; charset=utf-8", EMBASSY_WORDS),
        # a UTF-8 byte order mark, declared UTF-8: the mark is not text
        "bom": (b"\xef\xbb\xbf" + _page(EMBASSY, None).encode(), "text/html", EMBASSY_WORDS),
        "euckr-feed": (
            _feed(KCNA, "http://127.0.0.1/k/1", "EUC-KR").encode("euc-kr"),
            "application/rss+xml",
            KCNA_WORDS,
        ),
    }
    with LocalServer() as server:
        sources = []
        for name, (body, content_type, _) in cases.items():
            server.route(f"/{name}", respond(200, body, {"Content-Type": content_type}))
            kind = "feed" if name.endswith("feed") else "page"
            sources.append({"name": name, "kind": kind, "url": server.url(f"/{name}")})
        settings = make_settings(sources)
        with store.open_db(settings.database) as db:
            assert poll(settings, db).errors == []
            for name, (_, _, words) in cases.items():
                _found(db, name, words)
                assert _warning(db, name) is None, name
                assert "\ufeff" not in _texts(db, name)


@pytest.mark.parametrize("name", ["rss_2.0_encoding_1", "rss_0.91_encoding_2"])
@pytest.mark.parametrize("header", ["application/rss+xml; charset=ISO-8859-1", "text/xml"])
def test_iso_8859_1_fixtures_still_read_right_without_a_warning(
    make_settings: MakeSettings, name: str, header: str
) -> None:
    body = (DATA / "feeds" / f"{name}.xml").read_bytes()
    expected = json.loads((DATA / "feeds" / f"{name}.feed-rs-expected.json").read_text("utf-8"))
    with LocalServer() as server:
        server.route("/f.xml", respond(200, body, {"Content-Type": header}))
        settings = make_settings([{"name": "latin", "kind": "feed", "url": server.url("/f.xml")}])
        with store.open_db(settings.database) as db:
            assert poll(settings, db).errors == []
            titles = {r[0] for r in db.execute("SELECT title FROM documents")}
            assert titles == {" ".join(e["title"]["content"].split()) for e in expected["entries"]}
            assert _warning(db, "latin") is None


def _sources(tmp_path: Path, database: Path, url: str) -> str:
    """`monitor sources` as a person runs it, with a config naming the same database."""
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[storage]\ndatabase = "{database}"\n'
        f'[[sources]]\nname = "embassy"\nkind = "page"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["sources", "--config", str(config)])
    assert result.exit_code == 0, result.output
    return result.output
