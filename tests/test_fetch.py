"""monitor.sources.fetch against real servers on loopback: pytest-httpserver, and tests/servers.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from monitor.errors import FetchError
from monitor.models import Attempt
from monitor.sources.fetch import Fetcher, FetchSettings, _retry_after
from monitor.sources.limits import Alarms
from tests.servers import Handler, LocalServer, closed_port, drip, hang, huge, respond, sequence

UA = "monitor-test/0.1 (+https://example.invalid/monitor)"


def make(**overrides: Any) -> Fetcher:
    options: dict[str, Any] = {"timeout": 5.0, "retries": 2, "backoff": 0.05, "delay": 0.0}
    options.update(overrides)
    return Fetcher(FetchSettings(user_agent=UA, **options))


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with make() as f:
        yield f


def fails(fetcher: Fetcher, url: str, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetcher.get(url, **kwargs)
    assert info.value.url == url
    return info.value


def gap(earlier: Attempt, later: Attempt) -> float:
    """Seconds from the end of one attempt to the start of the next, as the fetcher saw them."""
    return (later.started_at - earlier.started_at).total_seconds() - earlier.elapsed


def sleeper(seconds: float, body: bytes = b"ok") -> Handler:
    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        stopping.wait(seconds)
        respond(200, body)(request, stopping)

    return handler


# --- ordinary responses --------------------------------------------------------------------------


def test_ok_response_records_everything(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request(
        "/feed", headers={"User-Agent": UA, "Accept": "application/rss+xml"}
    ).respond_with_data(b"<rss/>", headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"})
    url = httpserver.url_for("/feed")
    response = fetcher.get(url, accept="application/rss+xml")
    assert (response.status, response.body, response.final_url) == (200, b"<rss/>", url)
    assert response.headers["etag"] == '"v1"'
    assert response.content_type == "application/rss+xml"
    assert all(name == name.lower() for name in response.headers)
    [attempt] = response.attempts
    assert (attempt.url, attempt.status, attempt.bytes, attempt.error) == (url, 200, 6, None)
    assert attempt.started_at.tzinfo is not None and attempt.elapsed >= 0


def test_conditional_get_sends_validators_and_returns_304(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    httpserver.expect_ordered_request("/feed").respond_with_data(
        b"<rss/>", headers={"ETag": '"v1"', "Last-Modified": stamp}
    )
    httpserver.expect_ordered_request(
        "/feed", headers={"If-None-Match": '"v1"', "If-Modified-Since": stamp}
    ).respond_with_data(b"", status=304)
    url = httpserver.url_for("/feed")
    first = fetcher.get(url)
    second = fetcher.get(
        url, etag=first.headers["etag"], last_modified=first.headers["last-modified"]
    )
    httpserver.check_assertions()
    assert second.not_modified and second.body == b"" and len(second.attempts) == 1


def test_works_from_many_threads(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/page").respond_with_data(b"hello")
    with make(concurrency=4) as fetcher, ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(lambda _: fetcher.get(httpserver.url_for("/page")).body, range(20)))
    assert bodies == [b"hello"] * 20


def test_rejects_non_http_urls(fetcher: Fetcher) -> None:
    assert "not an http(s) URL" in str(fails(fetcher, "ftp://example.invalid/x"))


# --- deadline and size cap -----------------------------------------------------------------------


@pytest.mark.parametrize("content_length", [True, False])
def test_total_deadline_stops_a_slow_drip(content_length: bool) -> None:
    with LocalServer() as server, make(timeout=1.0) as fetcher:
        # 300 bytes, one every 0.2 s: each read makes progress, so only a total deadline ends
        # it before the drip's 60 s (the bound is generous: this machine may be busy)
        server.route("/slow", drip(b"x" * 300, interval=0.2, content_length=content_length))
        start = time.monotonic()
        error = fails(fetcher, server.url("/slow"))
        took = time.monotonic() - start
    assert 1.0 <= took < 20, took
    assert "no complete response within 1 s" in error.reason and "fetch.timeout" in error.reason
    assert len(error.attempts) == 1  # a server too slow now is not asked again at once


@pytest.mark.parametrize("headers_first", [True, False])
def test_total_deadline_stops_a_silent_server(headers_first: bool) -> None:
    with LocalServer() as server, make(timeout=1.0) as fetcher:
        server.route("/hang", hang(60, headers_first=headers_first, body=b"abc"))
        start = time.monotonic()
        error = fails(fetcher, server.url("/hang"))
        took = time.monotonic() - start
    assert took < 20, took  # ended by the 1 s deadline, long before the server's 60 s
    assert "within 1 s" in error.reason


def _late_then_drip(length: int | None) -> Handler:
    """Headers after 1.5 s, then a body byte every 1.0 s for a minute: no single read waits as
    long as the 2 s timeout, so only a deadline over headers and body together ends it."""

    def handler(request: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        if stopping.wait(1.5):
            return
        request.send_response(200)
        if length is not None:
            request.send_header("Content-Length", str(length))
        request.end_headers()
        request.wfile.flush()
        for _ in range(60):
            request.wfile.write(b"x")
            request.wfile.flush()
            if stopping.wait(1.0):
                return

    return handler


@pytest.mark.parametrize("length", [1000, None])
def test_total_deadline_covers_headers_and_body_together(length: int | None) -> None:
    with LocalServer() as server, make(timeout=2.0) as fetcher:
        server.route("/late", _late_then_drip(length))
        server.route("/ok", respond(200, b"ok"))
        start = time.monotonic()
        error = fails(fetcher, server.url("/late"))  # not a truncated body passed off as whole
        took = time.monotonic() - start
        assert fetcher.get(server.url("/ok")).body == b"ok"  # the client is still usable
    assert 2.0 <= took < 30, took  # a per-read timeout would have waited out the whole minute
    assert "within 2 s" in error.reason and len(error.attempts) == 1


def test_size_cap_with_content_length() -> None:
    with LocalServer() as server, make(max_bytes=1000) as fetcher:
        server.route("/big", huge(5000))
        error = fails(fetcher, server.url("/big"))
    assert "response larger than 1000 bytes" in error.reason
    assert "Content-Length: 5000" in error.reason and "fetch.max_bytes" in error.reason
    assert len(error.attempts) == 1


def test_size_cap_without_content_length() -> None:
    with LocalServer() as server, make(max_bytes=100_000) as fetcher:
        server.route("/big", huge(500_000_000, content_length=False))
        error = fails(fetcher, server.url("/big"))
    assert "response larger than 100000 bytes; raise fetch.max_bytes" in error.reason
    # stopped reading at the cap, not after the server's 500 MB
    assert 100_000 < error.attempts[0].bytes < 1_000_000


# --- redirects -----------------------------------------------------------------------------------


def test_redirects_are_followed(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/a").respond_with_data("", 302, {"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(
        "", 301, {"Location": httpserver.url_for("/c")}
    )
    httpserver.expect_request("/c").respond_with_data(b"final")
    response = fetcher.get(httpserver.url_for("/a"))
    assert response.body == b"final"
    assert response.url == httpserver.url_for("/a")
    assert response.final_url == httpserver.url_for("/c")


def test_redirects_are_capped(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/loop").respond_with_data("", 307, {"Location": "/loop"})
    with make(max_redirects=2) as fetcher:
        error = fails(fetcher, httpserver.url_for("/loop"))
    assert "more than 2 redirects" in error.reason and "fetch.max_redirects" in error.reason
    assert len(httpserver.log) == 3 and len(error.attempts) == 1


# --- errors and retries --------------------------------------------------------------------------


def test_404_fails_at_once(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/gone").respond_with_data("nope", status=404)
    url = httpserver.url_for("/gone")
    error = fails(fetcher, url)
    assert str(error) == f"{url}: not found (HTTP 404); check the URL in the config"
    assert error.status == 404 and len(error.attempts) == 1 and len(httpserver.log) == 1


def test_500_is_retried_then_fails(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/broken").respond_with_data("oops", status=500)
    error = fails(fetcher, httpserver.url_for("/broken"))
    assert error.status == 500 and "HTTP 500" in error.reason and "retried 2 times" in error.reason
    assert [a.status for a in error.attempts] == [500, 500, 500]
    assert all(a.error and "HTTP 500" in a.error for a in error.attempts)
    assert len(httpserver.log) == 3


def test_503_then_200_succeeds(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_data(b"fine")
    response = fetcher.get(httpserver.url_for("/flaky"))
    assert response.body == b"fine"
    assert [a.status for a in response.attempts] == [503, 200]
    assert response.attempts[0].error is not None and response.attempts[1].error is None


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(status: int) -> None:
    with LocalServer() as server, make(backoff=0.01) as fetcher:
        server.route(
            "/busy", sequence(respond(status, b"wait", {"Retry-After": "1"}), respond(200, b"ok"))
        )
        response = fetcher.get(server.url("/busy"))
    assert response.body == b"ok" and [a.status for a in response.attempts] == [status, 200]
    assert len(server.hits("/busy")) == 2
    assert gap(*response.attempts) >= 1.0


def test_too_long_retry_after_fails_at_once(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/busy").respond_with_data("", 429, {"Retry-After": "3600"})
    error = fails(fetcher, httpserver.url_for("/busy"))
    assert error.status == 429 and "fetch.max_retry_after" in error.reason
    assert len(error.attempts) == 1


def test_retry_after_parsing() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert _retry_after("5") == 5.0
    assert 15 <= (_retry_after(later) or 0) <= 30  # seconds from now: a busy machine is slow
    assert _retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0.0
    assert _retry_after(None) is None and _retry_after("soon") is None


def test_connection_refused_fails_clearly() -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed"
    with make(retries=1) as fetcher:
        error = fails(fetcher, url)
    assert error.status is None and "connection failed" in error.reason
    assert "retried 1 time;" in error.reason and "check the host name and port" in error.reason
    assert [a.status for a in error.attempts] == [None, None]
    assert all(a.error and "connection failed" in a.error for a in error.attempts)


# --- politeness ----------------------------------------------------------------------------------


def test_one_host_is_spaced_two_hosts_overlap() -> None:
    with (
        LocalServer("127.0.0.2") as one,
        LocalServer("127.0.0.3") as two,
        make() as fetcher,
        ThreadPoolExecutor(4) as pool,
    ):
        for server in (one, two):
            server.route("/a", sleeper(0.2))
            server.route("/b", sleeper(0.2))
        urls = [one.url("/a"), one.url("/b"), two.url("/a")]
        a, b, _ = pool.map(lambda url: fetcher.get(url, delay=0.3).attempts[0], urls)
        first, second = sorted(one.requests, key=lambda r: r.started)
        [other] = two.requests
    assert gap(*sorted([a, b], key=lambda attempt: attempt.started_at)) >= 0.3
    assert second.started - first.started >= 0.2 + 0.3  # the server saw it too
    assert other.started < first.ended and first.started < other.ended  # the two hosts overlapped


def test_concurrency_limits_simultaneous_requests() -> None:
    with (
        LocalServer("127.0.0.2") as one,
        LocalServer("127.0.0.3") as two,
        make(concurrency=1) as fetcher,
        ThreadPoolExecutor(2) as pool,
    ):
        for server in (one, two):
            server.route("/a", sleeper(0.2))
        list(pool.map(fetcher.get, [one.url("/a"), two.url("/a")]))
        a, b = sorted([*one.requests, *two.requests], key=lambda r: r.started)
    assert b.started - a.started >= 0.2  # the second waited until the first had its answer


# --- robots.txt ----------------------------------------------------------------------------------


def test_robots_disallow_is_honoured_and_cached(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/robots.txt", headers={"User-Agent": UA}).respond_with_data(
        "User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    httpserver.expect_request("/news/1").respond_with_data(b"one")
    httpserver.expect_request("/news/2").respond_with_data(b"two")
    response = fetcher.get(httpserver.url_for("/news/1"), robots=True)
    assert response.body == b"one"
    assert [a.url.rsplit("/", 1)[1] for a in response.attempts] == ["robots.txt", "1"]
    assert fetcher.get(httpserver.url_for("/news/2"), robots=True).body == b"two"
    error = fails(fetcher, httpserver.url_for("/private/x"), robots=True)
    assert f"disallowed by robots.txt of {httpserver.host}:{httpserver.port}" in error.reason
    paths = [request.path for request, _ in httpserver.log]
    assert paths == ["/robots.txt", "/news/1", "/news/2"]  # fetched once, private never asked


def test_robots_are_only_read_when_asked(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/feed").respond_with_data(b"<rss/>")
    fetcher.get(httpserver.url_for("/feed"))
    assert [request.path for request, _ in httpserver.log] == ["/feed"]


def test_missing_robots_allows_all(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/private/x").respond_with_data(b"ok")
    assert fetcher.get(httpserver.url_for("/private/x"), robots=True).body == b"ok"
    assert fetcher.get(httpserver.url_for("/private/x"), robots=True).body == b"ok"
    assert [r.path for r, _ in httpserver.log].count("/robots.txt") == 1


def test_failing_robots_disallows_for_now(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=503)
    with make(retries=1) as fetcher:
        error = fails(fetcher, httpserver.url_for("/news/1"), robots=True)
        again = fails(fetcher, httpserver.url_for("/news/2"), robots=True)
    assert "robots.txt unavailable" in error.reason and "HTTP 503" in error.reason
    assert [a.status for a in error.attempts] == [503, 503] and again.attempts == ()
    assert [r.path for r, _ in httpserver.log] == ["/robots.txt", "/robots.txt"]


def test_crawl_delay_spaces_requests() -> None:
    with LocalServer() as server, make(delay=0.0) as fetcher:
        server.route("/robots.txt", respond(200, b"User-agent: *\nCrawl-delay: 0.4\n"))
        server.route("/a", respond(200, b"a"))
        server.route("/b", respond(200, b"b"))
        robots, a = fetcher.get(server.url("/a"), robots=True).attempts
        [b] = fetcher.get(server.url("/b"), robots=True).attempts
    assert gap(robots, a) >= 0.4 and gap(a, b) >= 0.4


# --- redirects to other hosts --------------------------------------------------------------------


def test_a_redirect_to_another_host_honours_that_hosts_robots() -> None:
    # Loopback to loopback across addresses: allowed explicitly (non-public addresses are
    # refused by default, see tests/hostile/test_ssrf.py).
    with (
        make(allow_internal=("127.0.0.3",)) as fetcher,
        LocalServer("127.0.0.2") as first,
        LocalServer("127.0.0.3") as second,
    ):
        second.route("/robots.txt", respond(200, b"User-agent: *\nDisallow: /private/\n"))
        second.route("/private/x.html", respond(200, b"secret"))
        second.route("/public/x.html", respond(200, b"<p>public</p>"))
        first.route("/go", respond(302, b"", {"Location": second.url("/private/x.html")}))
        first.route("/ok", respond(301, b"", {"Location": second.url("/public/x.html")}))
        error = fails(fetcher, first.url("/go"), robots=True)
        assert "disallowed by robots.txt of 127.0.0.3" in error.reason
        assert not second.hits("/private/x.html")
        response = fetcher.get(first.url("/ok"), robots=True, etag='"old"')
        assert response.body == b"<p>public</p>" and response.url == first.url("/ok")
        assert response.final_url == second.url("/public/x.html")
        assert [a.status for a in response.attempts if "robots" not in a.url] == [301, 200]
        # Validators belong to the first URL; they are not sent to the redirect's target.
        assert "If-None-Match" not in second.hits("/public/x.html")[0].headers


def test_a_broken_redirect_location_is_a_clear_error(fetcher: Fetcher) -> None:
    with LocalServer() as server:
        server.route("/bad", respond(302, b"", {"Location": "http://[::1"}))
        error = fails(fetcher, server.url("/bad"))
        assert "bad redirect" in error.reason and error.attempts


def test_one_thread_rings_every_attempts_watchdog_in_time_order() -> None:
    """The watchdogs of a fetcher share one thread: an alarm set while the thread waits for a
    later one still rings first, a cancelled one never rings, and a callback that fails
    silences no other. Closing rings what is still pending, and an alarm set after it at once
    (the attempts a stopping poll leaves running end then, not at their deadline)."""
    alarms = Alarms("test-alarms")
    rung: list[str] = []
    last = threading.Event()

    def ring(name: str, fail: bool = False) -> Callable[[], None]:
        def call() -> None:
            rung.append(name)
            if name == "last":
                last.set()
            if fail:
                raise ValueError("a faulty alarm")

        return call

    def parked() -> bool:  # the thread waits on its condition (CPython's Condition._waiters)
        with alarms._changed:
            return len(alarms._changed._waiters) == 1  # type: ignore[attr-defined]

    try:
        alarms.after(3600, ring("an hour"))
        deadline = time.monotonic() + 60
        while not parked():  # so that the sooner alarms must wake it
            assert time.monotonic() < deadline, "the alarm thread never waited"
            time.sleep(0.01)
        cancel = alarms.after(0.01, ring("cancelled"))
        cancel()
        alarms.after(0.02, ring("failing", fail=True))
        alarms.after(0.05, ring("last"))
        assert last.wait(60), rung
        assert rung == ["failing", "last"]
        names = [t.name for t in threading.enumerate()]
        assert names.count("test-alarms") == 1
    finally:
        alarms.close()
    assert rung == ["failing", "last", "an hour"]  # rung by close, not in an hour
    assert "test-alarms" not in [t.name for t in threading.enumerate()]
    alarms.after(3600, ring("after close"))
    assert rung[-1] == "after close"
