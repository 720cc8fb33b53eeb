"""Retry-After and 5xx storms: absurd Retry-After values (huge, negative, far-future and
ancient dates, garbage, digits that are not ASCII) neither stall a poll nor crash it; a storm
where every request answers 500, 502 or 503 is retried a bounded number of times with the
backoff (or Retry-After) honoured between tries, the poll ends, and each source's error is
recorded once."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from tests.hostile.helpers import count, database, poll_here, write_config
from tests.servers import LocalServer, raw, respond

RETRIES = 2
ABSURD = {
    "huge": b"99999999999999999999",
    "longer-than-a-float": b"9" * 400,
    "negative": b"-5",
    "fraction": b"5.5",
    "exponent": b"1e9",
    "nan": b"NaN",
    "inf": b"inf",
    "empty": b"",
    "garbage": b"soon, maybe",
    "far-future": b"Fri, 31 Dec 9999 23:59:59 GMT",
    "ancient": b"Mon, 01 Jan 0001 00:00:00 GMT",
    "impossible-date": b"Tue, 31 Feb 2026 25:61:61 GMT",
    # str.isdigit() says yes to both; RFC 9110's delta-seconds are ASCII digits only, so both
    # are garbage (float() fails on the first and reads the second as 123)
    "superscript-two": "²".encode("latin-1"),
    "arabic-indic": "١٢٣".encode(),
}
MOST = 30.0  # fetch.max_retry_after here


def _busy(value: bytes) -> bytes:
    return (
        b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: " + value + b"\r\n"
        b"Content-Length: 4\r\nConnection: close\r\n\r\nbusy"
    )


def test_absurd_retry_after_values_neither_stall_nor_crash_a_poll(tmp_path: Path) -> None:
    with LocalServer() as server:
        for name, value in ABSURD.items():
            server.route(f"/{name}", raw(_busy(value)))
        sources = [{"name": n, "kind": "page", "url": server.url(f"/{n}")} for n in ABSURD]
        config = write_config(
            tmp_path, sources, retries=RETRIES, backoff=0.05, max_retry_after=MOST
        )
        start = time.monotonic()
        summary = poll_here(config)
        took = time.monotonic() - start
        hits = {name: len(server.hits(f"/{name}")) for name in ABSURD}
    # 14 sources on one host, one after another, none waiting long (a stall would be minutes)
    assert took < 120, took
    by_source: dict[str, list[str]] = {}
    for name, error in summary.errors:
        by_source.setdefault(name, []).append(error)
    assert set(by_source) == set(ABSURD), by_source
    for name, errors in by_source.items():
        [error] = errors  # once per source
        assert "503" in error, (name, error)
        assert 1 <= hits[name] <= RETRIES + 1, (name, hits[name])
    # a wait longer than allowed is not waited for: the source fails at once, saying why
    for name in ("huge", "longer-than-a-float", "far-future"):
        assert hits[name] == 1 and "max_retry_after" in by_source[name][0], by_source[name]
    with database(config) as db:
        recorded = dict(db.execute("SELECT name, last_error FROM sources").fetchall())
        assert all(recorded[name] for name in ABSURD), recorded
    assert count(config, "SELECT COUNT(*) FROM fetches") == sum(hits.values())
    assert count(config, "SELECT COUNT(*) FROM documents") == 0


def test_a_5xx_storm_is_retried_with_backoff_then_recorded_once(tmp_path: Path) -> None:
    """Every request fails: a feed answering 500, one answering 503 with Retry-After: 1, a
    page answering 502, and a feed whose every article answers 500. Each on its own loopback
    address, as separate sites (one host's requests are taken one at a time)."""
    backoff = 0.3
    with (
        LocalServer("127.0.0.1") as a,
        LocalServer("127.0.0.2") as b,
        LocalServer("127.0.0.3") as c,
        LocalServer("127.0.0.4") as d,
    ):
        a.route("/feed", respond(500, b"oops"))
        b.route("/feed", respond(503, b"busy", {"Retry-After": "1"}))
        c.route("/page", respond(502, b"bad gateway"))
        items = "".join(
            f"<item><title>Story {n}</title><link>{d.url(f'/story/{n}')}</link></item>"
            for n in range(3)
        )
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>{items}</channel></rss>'
        d.route("/feed", respond(200, feed.encode(), {"Content-Type": "application/rss+xml"}))
        for n in range(3):
            d.route(f"/story/{n}", respond(500, b"oops"))
        config = write_config(
            tmp_path,
            [
                {"name": "storm-500", "kind": "feed", "url": a.url("/feed")},
                {"name": "storm-503", "kind": "feed", "url": b.url("/feed")},
                {"name": "storm-502", "kind": "page", "url": c.url("/page")},
                {"name": "articles", "kind": "feed", "url": d.url("/feed"), "follow": "all"},
            ],
            retries=RETRIES,
            backoff=backoff,
        )
        start = time.monotonic()
        summary = poll_here(config)
        took = time.monotonic() - start
        hits = {
            "storm-500": a.hits("/feed"),
            "storm-503": b.hits("/feed"),
            "storm-502": c.hits("/page"),
            **{f"story-{n}": d.hits(f"/story/{n}") for n in range(3)},
        }
        robots = len(d.hits("/robots.txt"))  # articles are fetched as robots.txt allows
    assert took < 60, took  # generous: the machine may be busy; the counts are the test
    for name, requests in hits.items():
        assert len(requests) == RETRIES + 1, (name, len(requests))
        gaps = [later.started - earlier.ended for earlier, later in itertools.pairwise(requests)]
        least = [1.0] * RETRIES if name == "storm-503" else [backoff * 2**n for n in range(RETRIES)]
        assert all(g >= m * 0.95 for g, m in zip(gaps, least, strict=True)), (name, gaps)
    by_source: dict[str, list[str]] = {}
    for name, error in summary.errors:
        by_source.setdefault(name, []).append(error)
    for name, status in (("storm-500", 500), ("storm-503", 503), ("storm-502", 502)):
        [error] = by_source[name]
        assert f"HTTP {status}" in error and f"retried {RETRIES} times" in error, error
    assert len(by_source["articles"]) == 3 and all("HTTP 500" in e for e in by_source["articles"])
    with database(config) as db:
        health = {
            name: (failures, error)
            for name, failures, error in db.execute(
                "SELECT name, consecutive_failures, last_error FROM sources"
            )
        }
        per_source = dict(db.execute("SELECT source, COUNT(*) FROM fetches GROUP BY source"))
        entries = db.execute(
            "SELECT COUNT(*) FROM documents WHERE kind = 'entry' AND last_error LIKE '%HTTP 500%'"
        ).fetchone()[0]
    for name in ("storm-500", "storm-503", "storm-502"):
        assert health[name][0] == 1 and health[name][1], health[name]
        assert per_source[name] == RETRIES + 1, per_source
    assert health["articles"] == (0, None), "the feed itself was read"
    assert robots == 1 and per_source["articles"] == 1 + robots + 3 * (RETRIES + 1), per_source
    assert entries == 3, "each article's entry is kept with the error, for the next poll"
