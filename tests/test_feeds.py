"""Feeds: real corpus feeds in several encodings, Korean dates, canonical URLs, non-feeds."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.errors import FeedError
from monitor.sources.feeds import parse_date, parse_feed
from monitor.sources.urls import canonical_url
from tests.hostile.helpers import database, poll_here, write_config

DATA = Path(__file__).parent / "data" / "feeds"

FEED_RS = ["rss_0.91_encoding_2", "rss_2.0_encoding_1", "atom_example_2", "rss_2.0_spiegel"]
RSS_PARSER = [
    ("guardian", "guardian.rss"),
    ("heise", "heise.atom"),
    ("craigslist", "craigslist.rss"),
]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _plain(markup: str) -> str:
    """Upstream keeps entities and tags in titles; we store them as the text a reader sees."""
    return _squash(html.unescape(re.sub(r"<[^>]+>", "", markup)))


@pytest.mark.parametrize("name", FEED_RS)
def test_feed_rs_fixtures_parse_like_upstream(name: str) -> None:
    body = (DATA / f"{name}.xml").read_bytes()
    expected = json.loads((DATA / f"{name}.feed-rs-expected.json").read_text(encoding="utf-8"))
    feed = parse_feed(body, {"content-type": "application/xml"}, f"http://127.0.0.1/{name}.xml")
    assert [e.title for e in feed.entries] == [
        _squash(e["title"]["content"]) for e in expected["entries"]
    ]
    assert [e.link for e in feed.entries] == [e["links"][0]["href"] for e in expected["entries"]]
    assert feed.title == _squash(expected["title"]["content"])


def test_iso_8859_1_feed_is_decoded_not_mojibake() -> None:
    feed = parse_feed((DATA / "rss_2.0_encoding_1.xml").read_bytes(), {}, "http://127.0.0.1/f")
    assert feed.entries[0].title == "Revolução nas telas com pontos quânticos impressos em 3D"
    assert "Ã" not in feed.entries[0].title


@pytest.mark.parametrize(("name", "filename"), RSS_PARSER)
def test_rss_parser_fixtures_parse_like_upstream(name: str, filename: str) -> None:
    body = (DATA / filename).read_bytes()
    expected = json.loads((DATA / f"{name}.rss-parser-expected.json").read_text(encoding="utf-8"))
    feed = parse_feed(body, {"content-type": "application/rss+xml; charset=utf-8"}, "http://x/")
    items = expected["feed"]["items"]
    # Entries without a link cannot be documents; every upstream item has one.
    assert len(feed.entries) == len({canonical_url(i["link"]) for i in items})
    assert [e.title for e in feed.entries][:10] == [_plain(i["title"]) for i in items][:10]
    for entry, item in zip(feed.entries, items, strict=False):
        if item.get("isoDate"):
            assert entry.published == datetime.fromisoformat(item["isoDate"].replace("Z", "+00:00"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sat, 01 Mar 2025 09:00:00 KST", datetime(2025, 3, 1, 0, 0, tzinfo=UTC)),
        ("Sat, 01 Mar 2025 09:00:00 +0900", datetime(2025, 3, 1, 0, 0, tzinfo=UTC)),
        ("2025.03.01", datetime(2025, 2, 28, 15, 0, tzinfo=UTC)),
        ("2025.03.04 14:30", datetime(2025, 3, 4, 5, 30, tzinfo=UTC)),
        ("2025-03-04 14:30:00", datetime(2025, 3, 4, 5, 30, tzinfo=UTC)),
        ("2025년 3월 1일", datetime(2025, 2, 28, 15, 0, tzinfo=UTC)),
        ("2025년 3월 5일 오후 3시 20분", datetime(2025, 3, 5, 6, 20, tzinfo=UTC)),
        ("2025-03-01T09:00:00Z", datetime(2025, 3, 1, 9, 0, tzinfo=UTC)),
        ("2023-05-20T10:00:00-04:00", datetime(2023, 5, 20, 14, 0, tzinfo=UTC)),
        ("2025. 3. 4.", datetime(2025, 3, 3, 15, 0, tzinfo=UTC)),
        ("2025.03.04 오후 2:30", datetime(2025, 3, 4, 5, 30, tzinfo=UTC)),
        ("2025-03-04 오후 2:30", datetime(2025, 3, 4, 5, 30, tzinfo=UTC)),
        ("2025년 3월 5일 오전 12시", datetime(2025, 3, 4, 15, 0, tzinfo=UTC)),
        ("2025년 3월 5일 (수) 오후 3시 20분", datetime(2025, 3, 5, 6, 20, tzinfo=UTC)),
        ("2025-03-04 02:30 PM", datetime(2025, 3, 4, 5, 30, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
    ],
)
def test_dates_including_kst_and_korean_formats(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


def test_korean_dates_in_a_feed_are_read_as_kst() -> None:
    body = """<?xml version="1.0" encoding="UTF-8"?>
    <rss version="2.0"><channel><title>북한 뉴스</title><link>http://x/</link><description>d</description>
    <item><title>비핵화 협상</title><link>http://x/a</link><pubDate>Sat, 01 Mar 2025 09:00:00 KST</pubDate></item>
    <item><title>확장억제</title><link>http://x/b</link><pubDate>2025.03.01</pubDate></item>
    </channel></rss>""".encode()
    entries = parse_feed(body, {}, "http://x/feed").entries
    assert entries[0].published == datetime(2025, 3, 1, 0, 0, tzinfo=UTC)
    assert entries[0].published_raw == "Sat, 01 Mar 2025 09:00:00 KST"
    # feedparser alone reads the dotted date as November (its month comes from today's date).
    assert entries[1].published == datetime(2025, 2, 28, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.COM/a?utm_source=rss&id=3#top", "https://example.com/a?id=3"),
        ("http://example.com:80/a?fbclid=x", "http://example.com/a"),
        ("https://example.com", "https://example.com/"),
        ("http://127.0.0.1:8080/p?b=2&a=1", "http://127.0.0.1:8080/p?b=2&a=1"),
        (
            "http://www.heise.de/developer/meldung/x-3088438.html?wt_mc=rss.developer.beitrag.atom",
            "http://www.heise.de/developer/meldung/x-3088438.html",
        ),
    ],
)
def test_canonical_url_drops_tracking_and_fragments(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_html_page_posing_as_feed_is_an_error() -> None:
    html = b"<!doctype html><html><head><title>Home</title></head><body><p>Hello</p></body></html>"
    with pytest.raises(FeedError, match="not an RSS or Atom feed"):
        parse_feed(html, {"content-type": "text/html"}, "http://127.0.0.1/feed")


def test_broken_feed_yields_what_it_can_with_the_problem() -> None:
    body = (DATA / "guardian.rss").read_bytes()
    broken = body[: len(body) // 2]  # cut mid-document, as a dropped connection would
    feed = parse_feed(broken, {"content-type": "application/rss+xml"}, "http://x/feed")
    assert feed.problem is not None
    assert 0 < len(feed.entries) < 55


def test_garbage_is_an_error_not_an_empty_success() -> None:
    with pytest.raises(FeedError):
        parse_feed(b"\x00\xff\xfe garbage <<<", {}, "http://x/feed")


def test_an_unreadable_date_stays_unknown_rather_than_guessed() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>
    <description>d</description><item><title>a</title><link>http://x/a</link>
    <pubDate>sometime in March</pubDate></item></channel></rss>"""
    [entry] = parse_feed(body, {}, "http://x/feed").entries
    assert entry.published is None and entry.published_raw == "sometime in March"


def test_an_entry_with_an_impossible_link_is_skipped_not_fatal() -> None:
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>
    <description>d</description><item><title>bad</title><link>http://example.com:99999/a</link></item>
    <item><title>good</title><link>http://example.com/b</link></item></channel></rss>"""
    feed = parse_feed(body, {}, "http://x/feed")
    assert [e.title for e in feed.entries] == ["good"]
    assert feed.problem == "1 entries without a usable link were skipped"


def test_zoneless_times_are_read_in_the_zone_given() -> None:
    """A time that names no zone is the publisher's local time: in the zone the caller gives (a
    source's `timezone`, else [schedule].timezone), with its summer time; a time that names its
    zone is read as written whatever the zone given."""
    new_york = "America/New_York"
    assert parse_date("2025-03-04 14:30:00", new_york) == datetime(2025, 3, 4, 19, 30, tzinfo=UTC)
    assert parse_date("2025-07-04 14:30:00", new_york) == datetime(2025, 7, 4, 18, 30, tzinfo=UTC)
    assert parse_date("2025.03.01", new_york) == datetime(2025, 3, 1, 5, 0, tzinfo=UTC)
    assert parse_date("Sat, 01 Mar 2025 09:00:00 KST", new_york) == datetime(2025, 3, 1, tzinfo=UTC)
    body = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>
    <description>d</description><item><title>a</title><link>http://x/a</link>
    <pubDate>2025-03-04 14:30:00</pubDate></item></channel></rss>"""
    [entry] = parse_feed(body, {}, "http://x/feed", new_york).entries
    assert entry.published == datetime(2025, 3, 4, 19, 30, tzinfo=UTC)
    [seoul] = parse_feed(body, {}, "http://x/feed").entries
    assert seoul.published == datetime(2025, 3, 4, 5, 30, tzinfo=UTC), "the default: Seoul"


def test_a_poll_reads_zoneless_feed_times_in_the_source_zone_else_the_schedule_zone(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    body = """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
    <link>http://x/</link><description>d</description><item><title>{name}</title>
    <link>http://x/{name}</link><pubDate>2025-03-04 14:30:00</pubDate></item></channel></rss>"""
    for name in ("own", "schedule"):
        httpserver.expect_request(f"/{name}.xml").respond_with_data(
            body.format(name=name), content_type="application/rss+xml"
        )
    sources = [
        {"name": "own", "kind": "feed", "url": httpserver.url_for("/own.xml")},
        {"name": "schedule", "kind": "feed", "url": httpserver.url_for("/schedule.xml")},
    ]
    sources[0]["timezone"] = "Europe/London"
    path = write_config(tmp_path, sources, '[schedule]\ntimezone = "America/New_York"\n')
    poll_here(path)
    with database(path) as db:
        published = dict(db.execute("SELECT url, published_at FROM documents").fetchall())
    assert published == {
        "http://x/own": "2025-03-04T14:30:00+00:00",
        "http://x/schedule": "2025-03-04T19:30:00+00:00",
    }
