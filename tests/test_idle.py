"""Idle polls cost nothing: a body already handled is neither parsed nor extracted again, an
unchanged feed entry is not written again, and none of that hides a real change (issue 11)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

import pytest
from sqlite_utils import Database

from monitor import poll_services, store
from monitor.config import Settings
from monitor.models import Arrival
from monitor.pipeline import Shared, Summary, poll
from monitor.sources import feeds
from monitor.sources.fetch import Fetcher
from monitor.workers import Workers
from tests.conftest import DEMO, MakeSettings
from tests.servers import Handler, LocalServer, respond, rss_feed, sequence

PAGE = (
    DEMO / "pages" / "whitehouse" / "2021-05-21-u-s-rok-leaders-joint-statement.html"
).read_bytes()
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


class CountingWorkers(Workers):
    """The real pool, counting the documents sent to it."""

    def __init__(self, count: int, deadline: float) -> None:
        super().__init__(count, deadline)
        self.submitted = 0

    def submit(self, function: Callable[..., Any], *args: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(function, *args)


@contextmanager
def counted(settings: Settings) -> Iterator[tuple[Shared, CountingWorkers]]:
    workers = CountingWorkers(1, settings.extract.deadline)
    shared = Shared(Fetcher(settings.fetch.for_fetcher()), workers)
    try:
        yield shared, workers
    finally:
        shared.close()


def _count(db: Database, sql: str) -> int:
    return int(db.execute(sql).fetchone()[0])


def ignores_validators(body: bytes) -> Handler:
    """A server that sends an ETag but answers 200 with the whole body to If-None-Match."""
    return respond(200, body, {**HTML, "ETag": '"same"'})


def test_the_same_page_without_validators_is_not_extracted_again(
    make_settings: MakeSettings,
) -> None:
    with LocalServer() as server:
        server.route("/p.html", respond(200, PAGE, HTML))
        settings = make_settings([{"name": "p", "kind": "page", "url": server.url("/p.html")}])
        with store.open_db(settings.database) as db, counted(settings) as (shared, workers):
            first = poll(settings, db, shared=shared)
            assert first.new_versions == 1 and workers.submitted == 1
            second = poll(settings, db, shared=shared)
            assert workers.submitted == 1  # nothing extracted
            assert (second.fetched, second.unchanged, second.new_versions) == (1, 1, 0)
            assert second.as_json()["unchanged"] == 1 and not second.errors
            assert _count(db, "SELECT COUNT(*) FROM versions") == 1
            # still a successful fetch of the source: its health and its fetches rows
            assert _count(db, "SELECT COUNT(*) FROM fetches WHERE status = 200") == 2
            [health] = store.source_health(db, ["p"])
            assert health.consecutive_failures == 0 and health.last_success is not None


def test_one_changed_byte_is_extracted_and_stored(make_settings: MakeSettings) -> None:
    edited = PAGE.replace(b"complete denuclearization", b"complete denuclearizatio.", 1)
    assert edited != PAGE
    with LocalServer() as server:
        server.route("/p.html", sequence(respond(200, PAGE, HTML), respond(200, edited, HTML)))
        settings = make_settings([{"name": "p", "kind": "page", "url": server.url("/p.html")}])
        with store.open_db(settings.database) as db, counted(settings) as (shared, workers):
            poll(settings, db, shared=shared)
            second = poll(settings, db, shared=shared)
            assert workers.submitted == 2 and second.unchanged == 0 and second.new_versions == 1
            ids = [r[0] for r in db.execute("SELECT id FROM versions ORDER BY id")]
            assert [store.raw_body(db, i) for i in ids] == [PAGE, edited]
            assert _count(db, "SELECT COUNT(*) FROM bodies WHERE base IS NOT NULL") == 1


def test_a_200_to_a_conditional_request_with_the_same_body_is_not_extracted(
    make_settings: MakeSettings,
) -> None:
    with LocalServer() as server:
        server.route("/p.html", ignores_validators(PAGE))
        settings = make_settings([{"name": "p", "kind": "page", "url": server.url("/p.html")}])
        with store.open_db(settings.database) as db, counted(settings) as (shared, workers):
            poll(settings, db, shared=shared)
            second = poll(settings, db, shared=shared)
            sent = [r.headers.get("If-None-Match") for r in server.hits("/p.html")]
            assert sent == [None, '"same"']
            assert workers.submitted == 1 and second.unchanged == 1 and second.not_modified == 0


def test_a_page_that_failed_extraction_is_extracted_again_though_unchanged(
    make_settings: MakeSettings,
) -> None:
    empty = b"<html><head><title>x</title></head><body><script>app()</script></body></html>"
    with LocalServer() as server:
        server.route("/p.html", respond(200, empty, HTML))
        settings = make_settings([{"name": "p", "kind": "page", "url": server.url("/p.html")}])
        with store.open_db(settings.database) as db, counted(settings) as (shared, workers):
            first, second = poll(settings, db, shared=shared), poll(settings, db, shared=shared)
            assert first.errors and second.errors and workers.submitted == 2
            assert second.unchanged == 0


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often a feed is parsed (the real parser, counted)."""
    calls: list[int] = []
    real = feeds.parse_feed

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(feeds, "parse_feed", counting)
    return calls


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the documents the poll stores (the real store, counted)."""
    urls: list[str] = []
    real = poll_services.store_document

    def counting(settings: Any, db: Any, source: Any, arrival: Arrival, **kwargs: Any) -> Any:
        urls.append(arrival.url)
        return real(settings, db, source, arrival, **kwargs)

    monkeypatch.setattr(poll_services, "store_document", counting)
    return urls


def test_a_byte_identical_feed_is_not_parsed_and_unchanged_entries_are_not_written(
    make_settings: MakeSettings, parses: list[int], writes: list[str]
) -> None:
    one = ("Talks", "/a.html", "The allies seek North Korea's complete denuclearization.")
    two = ("Summit", "/b.html", "Leaders meet.")
    edited = ("Summit", "/b.html", "Leaders met.")
    first, third = rss_feed(one, two), rss_feed(one, edited)
    with LocalServer() as server:
        server.route(
            "/feed",
            sequence(respond(200, first, RSS), respond(200, first, RSS), respond(200, third, RSS)),
        )
        settings = make_settings([{"name": "s", "kind": "feed", "url": server.url("/feed")}])
        with store.open_db(settings.database) as db:
            polls: list[Summary] = [poll(settings, db) for _ in range(3)]
            assert len(parses) == 2  # the second poll's feed is the first's, byte for byte
            assert polls[1].unchanged == 1 and polls[1].fetched == 1 and not polls[1].errors
            # the third poll writes only the entry whose summary changed
            assert [w.rsplit("/", 1)[1] for w in writes] == ["a.html", "b.html", "b.html"]
            assert polls[2].new_versions == 1
            assert _count(db, "SELECT COUNT(*) FROM versions") == 3
            [health] = store.source_health(db, ["s"])
            assert health.consecutive_failures == 0


def test_an_unchanged_feed_still_retries_the_articles_it_owes(
    make_settings: MakeSettings, parses: list[int]
) -> None:
    feed = rss_feed(("Extended deterrence talks", "/a.html", "NCG meets"))
    with LocalServer() as server:
        server.route("/feed", respond(200, feed, RSS))
        server.route("/a.html", sequence(respond(503, b"busy"), respond(200, PAGE, HTML)))
        settings = make_settings(
            [{"name": "s", "kind": "feed", "url": server.url("/feed"), "follow": "all"}], retries=0
        )
        with store.open_db(settings.database) as db:
            first, second = poll(settings, db), poll(settings, db)
            assert first.errors and len(parses) == 1 and second.unchanged == 1
            assert len(server.hits("/a.html")) == 2
            kind = db.execute("SELECT kind FROM documents").fetchone()[0]
            assert kind == "article"


def test_a_page_configured_into_a_series_later_is_placed_though_unchanged(
    make_settings: MakeSettings,
) -> None:
    other = (DEMO / "pages" / "whitehouse").glob("2022-05-21-*.html")
    later_page = next(iter(other)).read_bytes()
    with LocalServer() as server:
        server.route("/a.html", respond(200, PAGE, HTML))
        server.route("/b.html", respond(200, later_page, HTML))
        sources = [
            {"name": "a", "kind": "page", "url": server.url("/a.html")},
            {"name": "b", "kind": "page", "url": server.url("/b.html")},
        ]
        plain = make_settings(sources)
        series = [{"id": "js", "title": "Joint statements", "members": [s["url"] for s in sources]}]
        with store.open_db(plain.database) as db:
            poll(plain, db)
            later = make_settings(sources, series=series)
            summary = poll(later, db)
            assert summary.unchanged == 0 and summary.changes >= 1
            placed = db.execute("SELECT COUNT(*) FROM documents WHERE series_placed = 1")
            assert placed.fetchone()[0] == 2
            again = poll(later, db)
            assert again.unchanged == 2 and again.changes == 0
