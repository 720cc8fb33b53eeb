"""One poll against real local HTTP servers: good sources land while bad ones record why."""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from monitor import store
from monitor.pipeline import poll
from tests.conftest import DEMO, MakeSettings
from tests.servers import LocalServer, hang, respond, rss_feed, sequence, serve_demo_site, static

FEEDS = Path(__file__).parent / "data" / "feeds"
PDF = Path(__file__).parent / "data" / "pdf" / "us-rok-joint-statement-2022.pdf"
RSS = {"Content-Type": "application/rss+xml"}


def _count(db: Database, sql: str, *params: object) -> int:
    return int(db.execute(sql, params).fetchone()[0])


def test_bad_sources_record_errors_while_the_others_land(make_settings: MakeSettings) -> None:
    guardian = (FEEDS / "guardian.rss").read_bytes()
    with LocalServer() as server:
        serve_demo_site(server)
        server.route("/guardian.rss", static(guardian, "application/rss+xml; charset=utf-8"))
        server.route(
            "/latin1.xml", static((FEEDS / "rss_2.0_encoding_1.xml").read_bytes(), "text/xml")
        )
        server.route(
            "/latin1-rss091.xml",
            static((FEEDS / "rss_0.91_encoding_2.xml").read_bytes(), "text/xml"),
        )
        heise = (FEEDS / "heise.atom").read_bytes()
        server.route("/broken.rss", respond(200, heise[: len(heise) // 2], RSS))
        server.route("/error.rss", respond(500, b"oops"))
        server.route("/slow.rss", hang(30))
        server.route(
            "/home.html",
            respond(
                200, b"<html><body><p>Welcome</p></body></html>", {"Content-Type": "text/html"}
            ),
        )
        settings = make_settings(
            [
                {"name": "guardian", "kind": "feed", "url": server.url("/guardian.rss")},
                {"name": "latin1", "kind": "feed", "url": server.url("/latin1.xml")},
                {"name": "latin1-old", "kind": "feed", "url": server.url("/latin1-rss091.xml")},
                {
                    "name": "korean",
                    "kind": "feed",
                    "url": server.url("/feeds/korean-policy.xml"),
                    "follow": "all",
                },
                {
                    "name": "whitehouse",
                    "kind": "feed",
                    "url": server.url("/feeds/whitehouse-korea.xml"),
                    "follow": "all",
                },
                {"name": "broken", "kind": "feed", "url": server.url("/broken.rss")},
                {"name": "missing", "kind": "feed", "url": server.url("/missing.rss")},
                {"name": "error", "kind": "feed", "url": server.url("/error.rss")},
                {"name": "slow", "kind": "feed", "url": server.url("/slow.rss")},
                {"name": "posing", "kind": "feed", "url": server.url("/home.html")},
            ],
            timeout=1.5,
        )
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            errors = dict(summary.errors)
            assert set(errors) == {"broken", "missing", "error", "slow", "posing"}
            assert "404" in errors["missing"]
            assert "500" in errors["error"]
            assert "not an RSS or Atom feed" in errors["posing"]
            assert "partly unreadable" in errors["broken"]
            health = {
                h.name: h for h in store.source_health(db, [s.name for s in settings.sources])
            }
            for name in ("missing", "error", "slow", "posing"):
                assert health[name].consecutive_failures == 1, name
                assert health[name].last_error
            for name in ("guardian", "latin1", "latin1-old", "korean", "whitehouse", "broken"):
                assert health[name].consecutive_failures == 0, name
                assert health[name].documents > 0, name
            assert health["guardian"].documents == 55
            assert 0 < health["broken"].documents < 15
            title = db.execute("SELECT title FROM documents WHERE source = 'latin1'").fetchone()[0]
            assert title == "Revolução nas telas com pontos quânticos impressos em 3D"
            # Every attempt is recorded, retries included (retries = 1: two tries at the 500).
            assert _count(db, "SELECT COUNT(*) FROM fetches WHERE source = 'error'") == 2
            assert (
                _count(db, "SELECT COUNT(*) FROM fetches WHERE error IS NULL AND status = 200") > 10
            )
            # Followed articles were extracted and matched.
            assert (
                _count(
                    db,
                    "SELECT COUNT(*) FROM documents WHERE source = 'whitehouse' AND kind = 'article'",
                )
                == 9
            )
            korean = db.execute(
                "SELECT COUNT(*) FROM mentions m JOIN documents d ON d.id = m.document_id "
                "WHERE d.source = 'korean' AND m.concept = 'complete-denuclearization'"
            ).fetchone()[0]
            assert korean > 0
            assert summary.mentions == _count(db, "SELECT COUNT(*) FROM mentions")


def test_second_poll_gets_304_and_stores_nothing(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        settings = make_settings(
            [
                {
                    "name": "whitehouse",
                    "kind": "feed",
                    "url": server.url("/feeds/whitehouse-korea.xml"),
                    "follow": "all",
                },
                {
                    "name": "analysis",
                    "kind": "page",
                    "url": server.url("/pages/analysis/denuclearization-wording.html"),
                },
            ]
        )
        with store.open_db(settings.database) as db:
            first = poll(settings, db)
            assert first.new_documents == 10 and first.new_versions == 10 and not first.errors
            tables = ("documents", "versions", "mentions")
            before = {t: _count(db, f"SELECT COUNT(*) FROM {t}") for t in tables}
            second = poll(settings, db)
            assert second.not_modified == 2
            assert (second.fetched, second.new_documents, second.new_versions, second.mentions) == (
                0,
                0,
                0,
                0,
            )
            assert {t: _count(db, f"SELECT COUNT(*) FROM {t}") for t in tables} == before
            sent = [
                r.headers.get("If-None-Match") for r in server.hits("/feeds/whitehouse-korea.xml")
            ]
            assert sent == [None, '"v1"']


def _matching(name: str, url: str) -> dict[str, str]:
    """A feed source that follows the links of its matching entries."""
    return {"name": name, "kind": "feed", "url": url, "follow": "matching"}


def test_follow_matching_skips_unrelated_entries_and_honours_robots(
    make_settings: MakeSettings,
) -> None:
    with LocalServer() as server:
        serve_demo_site(server)
        server.route(
            "/robots.txt",
            respond(200, b"User-agent: *\nDisallow: /pages/ko/\n", {"Content-Type": "text/plain"}),
        )
        settings = make_settings([_matching("korean", server.url("/feeds/korean-policy.xml"))])
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert summary.errors and all("robots.txt" in e for _, e in summary.errors)
            assert not [r for r in server.requests if r.path.startswith("/pages/ko/")]
            kinds = db.execute("SELECT kind, last_error IS NOT NULL FROM documents").fetchall()
            # Matching entries were owed an article (refused by robots); the unrelated one was not.
            assert ("entry", 1) in kinds and ("entry", 0) in kinds


def test_a_pdf_page_is_fetched_and_extracted(make_settings: MakeSettings) -> None:
    with LocalServer() as server:
        server.route("/nss.pdf", static(PDF.read_bytes(), "application/pdf"))
        settings = make_settings(
            [{"name": "statement", "kind": "page", "url": server.url("/nss.pdf")}]
        )
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert not summary.errors
            text, method = db.execute("SELECT text, method FROM versions").fetchone()
            assert method.startswith("pdf")
            assert "complete denuclearization of the Korean Peninsula" in " ".join(text.split())
            concepts = {r[0] for r in db.execute("SELECT concept FROM mentions")}
            assert {
                "complete-denuclearization",
                "denuclearization",
                "extended-deterrence",
            } <= concepts


def test_retry_after_is_honoured_and_every_attempt_recorded(make_settings: MakeSettings) -> None:
    feed = (FEEDS / "heise.atom").read_bytes()
    with LocalServer() as server:
        server.route(
            "/feed",
            sequence(
                respond(503, b"busy", {"Retry-After": "1"}), static(feed, "application/atom+xml")
            ),
        )
        settings = make_settings([{"name": "heise", "kind": "feed", "url": server.url("/feed")}])
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert not summary.errors and summary.new_documents == 15
            hits = server.hits("/feed")
            assert len(hits) == 2 and hits[1].started - hits[0].ended >= 0.95
            statuses = [r[0] for r in db.execute("SELECT status FROM fetches ORDER BY id")]
            assert statuses == [503, 200]


def test_the_body_cap_is_enforced(make_settings: MakeSettings) -> None:
    guardian = (FEEDS / "guardian.rss").read_bytes()
    with LocalServer() as server:
        server.route("/feed", static(guardian, "application/rss+xml"))
        settings = make_settings(
            [{"name": "big", "kind": "feed", "url": server.url("/feed")}], max_bytes=10_000
        )
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert len(summary.errors) == 1 and "10000 bytes" in summary.errors[0][1]
            assert _count(db, "SELECT COUNT(*) FROM documents") == 0


def test_a_failed_article_is_retried_at_the_next_poll(make_settings: MakeSettings) -> None:
    article = (
        DEMO / "pages" / "whitehouse" / "2023-04-26-washington-declaration-2.html"
    ).read_bytes()
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link>
    <description>d</description><item><title>Washington Declaration on extended deterrence</title>
    <link>/a.html</link></item></channel></rss>"""
    with LocalServer() as server:
        server.route("/feed", respond(200, feed, RSS))
        server.route("/a.html", sequence(respond(404, b"gone"), static(article, "text/html")))
        settings = make_settings(
            [{"name": "s", "kind": "feed", "url": server.url("/feed"), "follow": "all"}]
        )
        with store.open_db(settings.database) as db:
            first = poll(settings, db)
            assert first.new_documents == 1 and "404" in first.errors[0][1]
            second = poll(settings, db)
            assert not second.errors and second.new_versions == 1
            assert db.execute("SELECT kind, failures FROM documents").fetchone() == ("article", 0)


def test_a_failed_article_is_retried_while_the_feed_is_unchanged_then_given_up(
    make_settings: MakeSettings,
) -> None:
    feed = rss_feed(("Extended deterrence talks", "/a.html", "NCG meets"))
    with LocalServer() as server:
        server.route("/feed", static(feed, "application/rss+xml"))
        server.route("/a.html", respond(503, b"busy"))
        settings = make_settings(
            [{"name": "s", "kind": "feed", "url": server.url("/feed"), "follow": "all"}], retries=0
        )
        with store.open_db(settings.database) as db:
            for _ in range(4):
                poll(settings, db)
            assert [r.headers.get("If-None-Match") for r in server.hits("/feed")][1:] == [
                '"v1"'
            ] * 3
            assert len(server.hits("/a.html")) == 3, "three tries in all, also behind a 304"
            row = db.execute("SELECT kind, failures, last_error FROM documents").fetchone()
            assert row[:2] == ("entry", 3) and "503" in row[2]


def test_validators_are_kept_only_once_every_article_is_stored(make_settings: MakeSettings) -> None:
    article = (DEMO / "pages" / "analysis" / "denuclearization-wording.html").read_bytes()
    feed = rss_feed(*[(f"Story {n}", f"/{n}.html", "denuclearization") for n in range(3)])
    with LocalServer() as server:
        server.route("/feed", static(feed, "application/rss+xml"))
        for n in range(3):
            server.route(f"/{n}.html", static(article, "text/html"))
        source = {"name": "s", "kind": "feed", "url": server.url("/feed"), "follow": "all"}
        settings = make_settings([{**source, "max_articles": 1}])
        with store.open_db(settings.database) as db:
            kinds = []
            for _ in range(4):
                poll(settings, db)
                kinds.append(sorted(k for (k,) in db.execute("SELECT kind FROM documents")))
            # One article per poll; until the last is stored, the feed is read again in full.
            assert kinds[:3] == [["article"], ["article"] * 2, ["article"] * 3]
            sent = [r.headers.get("If-None-Match") for r in server.hits("/feed")]
            assert sent == [None, None, None, '"v1"']


def test_a_page_that_fails_extraction_is_fetched_again_not_answered_304(
    make_settings: MakeSettings,
) -> None:
    empty = b"<html><head><title>x</title></head><body><script>app()</script></body></html>"
    with LocalServer() as server:
        server.route("/p.html", static(empty, "text/html"))
        settings = make_settings([{"name": "p", "kind": "page", "url": server.url("/p.html")}])
        with store.open_db(settings.database) as db:
            first, second = poll(settings, db), poll(settings, db)
            assert "JavaScript" in first.errors[0][1] and second.errors
            assert [r.headers.get("If-None-Match") for r in server.hits("/p.html")] == [None, None]
            [health] = store.source_health(db, ["p"])
            assert health.consecutive_failures == 2 and health.last_success is None


def test_an_entry_whose_summary_changes_gets_a_new_version(make_settings: MakeSettings) -> None:
    before = rss_feed(
        ("Talks", "/a.html", "The allies seek North Korea's complete denuclearization.")
    )
    after = rss_feed(("Talks", "/a.html", "The allies seek North Korea's denuclearization."))
    with LocalServer() as server:
        server.route(
            "/feed",
            sequence(
                static(before, RSS["Content-Type"], '"1"'),
                static(after, RSS["Content-Type"], '"2"'),
            ),
        )
        settings = make_settings([{"name": "s", "kind": "feed", "url": server.url("/feed")}])
        with store.open_db(settings.database) as db:
            poll(settings, db)
            second = poll(settings, db)
            assert (second.new_documents, second.new_versions, second.changes) == (0, 1, 1)
            verdict, significance = db.execute(
                "SELECT verdict, significance FROM changes"
            ).fetchone()
            # A feed's blurb is kept as history, in the lowest band: never a downgrade alert.
            assert verdict.startswith("feed summary: complete-denuclearization dropped")
            assert significance <= 0.24


def test_follow_matching_fetches_articles_whose_headline_names_only_north_korea(
    make_settings: MakeSettings,
) -> None:
    # Korean headlines often say only 北 or 북핵: no concept, but the target, so the article
    # is fetched; a headline about the Arctic (북극) is not.
    page = "<html><body><article><p>北은 이날 동해상으로 탄도미사일을 발사했다.</p></article></body></html>"
    feed = rss_feed(
        ("北, 동해상으로 탄도미사일 발사", "/nk.html", "합참 발표"),
        ("북핵 협상 재개 가능성", "/talks.html", "전문가 분석"),
        ("북극 항로 개척 본격화", "/arctic.html", "해운업계"),
    )
    with LocalServer() as server:
        server.route("/feed.xml", static(feed, RSS["Content-Type"], '"1"'))
        for path in ("/nk.html", "/talks.html", "/arctic.html"):
            server.route(path, static(page.encode(), "text/html; charset=utf-8", '"p"'))
        settings = make_settings([_matching("yonhap-ko", server.url("/feed.xml"))])
        with store.open_db(settings.database) as db:
            summary = poll(settings, db)
            assert not summary.errors
            fetched = {r.path for r in server.requests}
            kinds = dict(db.execute("SELECT link, kind FROM documents").fetchall())
    assert {"/nk.html", "/talks.html"} <= fetched and "/arctic.html" not in fetched
    assert sorted(kinds.values()) == ["article", "article", "entry"]
