"""Huge and slow bodies: a 2 GB body streamed by the server (with and without a Content-Length)
meets the size cap without being held in memory; a slowloris that drips one byte a second, in
the body or even in the status line and headers, is ended by the total deadline."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.hostile.helpers import BASELINE_MB, count, poll_here, run_once, write_config
from tests.servers import LocalServer, drip, huge, raw, respond

CAP = 10_000_000
GB2 = 2_000_000_000


@pytest.mark.parametrize("content_length", [False, True])
def test_a_2_gb_body_meets_the_cap_and_is_never_held(tmp_path: Path, content_length: bool) -> None:
    with LocalServer() as server:
        server.route("/feed", huge(GB2, content_length, {"Content-Type": "application/rss+xml"}))
        server.route("/page", huge(GB2, content_length, {"Content-Type": "text/html"}))
        config = write_config(
            tmp_path,
            [
                {"name": "huge-feed", "kind": "feed", "url": server.url("/feed")},
                {"name": "huge-page", "kind": "page", "url": server.url("/page")},
            ],
            max_bytes=CAP,
            timeout=20,
        )
        ran = run_once(config)
        sent = len(server.requests)
    assert ran.returncode == 4, ran.output  # every source failed, each with its reason
    assert ran.peak_mb < BASELINE_MB, (
        f"peak {ran.peak_mb:.0f} MB ({ran.any_peak_mb:.0f} MB with workers)"
    )
    assert sent == 2, "one request each: a body too large is not asked for again at once"
    for name in ("huge-feed", "huge-page"):
        error = ran.errors[name]
        assert f"response larger than {CAP} bytes" in error and "fetch.max_bytes" in error
        if content_length:
            assert f"Content-Length: {GB2}" in error  # refused before a byte of the body
    assert count(config, "SELECT COUNT(*) FROM documents") == 0
    assert count(config, "SELECT COUNT(*) FROM versions") == 0
    assert count(config, "SELECT COUNT(*) FROM sources WHERE last_error LIKE '%larger than%'") == 2
    received = count(config, "SELECT MAX(bytes) FROM fetches")
    assert received <= (0 if content_length else CAP + 1_000_000), received


BODY = b"<html><body><p>" + b"North Korea " * 50 + b"</p></body></html>"


def test_slowloris_is_ended_by_the_total_deadline(tmp_path: Path) -> None:
    """One byte a second: in a body with a length, in one without, and in the status line and
    headers themselves. Every read makes progress, so only a total deadline ends them. Each on
    its own loopback address, so they are polled at once, as different sites would be."""
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    html = {"Content-Type": "text/html"}
    with (
        LocalServer("127.0.0.1") as one,
        LocalServer("127.0.0.2") as two,
        LocalServer("127.0.0.3") as three,
    ):
        one.route("/body", drip(BODY, interval=1.0, headers=html))
        one.route("/ok", respond(200, BODY, html))
        two.route("/unsized", drip(BODY, interval=1.0, content_length=False, headers=html))
        three.route("/head", raw(head + BODY, interval=1.0, chunk=1))
        sources = [
            {"name": "drip-body", "kind": "page", "url": one.url("/body")},
            {"name": "drip-unsized", "kind": "page", "url": two.url("/unsized")},
            {"name": "drip-head", "kind": "page", "url": three.url("/head")},
            {"name": "steady", "kind": "page", "url": one.url("/ok")},
        ]
        config = write_config(tmp_path, sources, timeout=2)
        start = time.monotonic()
        summary = poll_here(config)
        took = time.monotonic() - start
    errors = dict(summary.errors)
    # the drips would last minutes (a byte a second); generous: this machine may be busy
    assert took < 2 + 30, took
    assert set(errors) == {"drip-body", "drip-unsized", "drip-head"}, errors
    for error in errors.values():
        assert "no complete response within 2 s" in error and "fetch.timeout" in error
    assert count(config, "SELECT COUNT(*) FROM sources WHERE last_error LIKE '%within 2 s%'") == 3
    assert count(config, "SELECT COUNT(*) FROM fetches WHERE error LIKE '%within 2 s%'") == 3
    # nothing partial was stored; the steady page landed beside them
    assert count(config, "SELECT COUNT(*) FROM documents") == 1
    assert count(config, "SELECT COUNT(*) FROM documents WHERE source = 'steady'") == 1


def test_a_slowloris_article_fails_alone_and_its_entry_is_kept(tmp_path: Path) -> None:
    """A feed's article that drips: the article fails with the deadline, recorded on the
    document; the entry's own text is kept and the feed's other article lands."""
    with LocalServer() as server:
        feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
            f"<item><title>Slow one</title><link>{server.url('/slow')}</link></item>"
            f"<item><title>Fast one</title><link>{server.url('/fast')}</link></item>"
            "</channel></rss>"
        ).encode()
        server.route("/feed", respond(200, feed, {"Content-Type": "application/rss+xml"}))
        server.route("/slow", drip(BODY, interval=1.0, headers={"Content-Type": "text/html"}))
        server.route("/fast", respond(200, BODY, {"Content-Type": "text/html"}))
        config = write_config(
            tmp_path,
            [{"name": "slow", "kind": "feed", "url": server.url("/feed"), "follow": "all"}],
            timeout=2,
        )
        summary = poll_here(config)
    [(name, error)] = summary.errors
    assert name == "slow" and "within 2 s" in error and "/slow" in error
    with_error = "SELECT COUNT(*) FROM documents WHERE last_error LIKE '%within 2 s%'"
    assert count(config, with_error + " AND kind = 'entry' AND url LIKE '%/slow'") == 1
    assert count(config, "SELECT COUNT(*) FROM documents WHERE kind = 'article'") == 1
    assert count(config, "SELECT COUNT(*) FROM sources WHERE last_error IS NULL") == 1
